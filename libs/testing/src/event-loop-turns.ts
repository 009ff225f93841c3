/**
 * Runs `work` while counting the turns of this thread's event loop (rounds of setImmediate):
 * work that held the loop synchronously lets it turn once or twice, work done elsewhere (a
 * thread, the thread pool) lets it turn freely meanwhile.
 */
export async function loopTurnsDuring<T>(
  work: () => Promise<T>,
): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const spin = () => {
    turns += 1;
    if (running) setImmediate(spin);
  };
  setImmediate(spin);
  try {
    return { result: await work(), turns };
  } finally {
    running = false;
  }
}
