/**
 * `setTimeout` for a deadline on an awaited answer (Redis, a worker, a readiness check):
 * `onDeadline` runs once `ms` have passed *and* the I/O that was already waiting when the timer
 * fired has been handled. A process starved of CPU (a loaded node, a long collection) wakes with
 * both the expired timer and the answer ready to read; the event loop runs its timers before it
 * polls for I/O, so a plain timer would fail a request that was answered in time. Deferring the
 * verdict to the loop's check phase (`setImmediate`, which comes after the poll) lets the answer
 * settle first. `onDeadline` must be a no-op once the answer has settled: clearing the returned
 * timer does not stop a verdict already deferred.
 */
export function setIoDeadline(onDeadline: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(() => setImmediate(onDeadline), ms);
}
