/** When and how long to wait before trying a refused request again. */
export interface RetryPolicy {
  /** Tries per call, the first included (1 turns retries off). */
  maxAttempts: number;
  /** Backoff of the first retry without `Retry-After`; doubles per retry. */
  baseDelayMs: number;
  /** Cap of the backoff without `Retry-After`. */
  maxDelayMs: number;
  /**
   * A `Retry-After` longer than this is not waited for: the error goes to the caller at once
   * (a spent monthly quota answers with the seconds until next month).
   */
  maxRetryAfterMs: number;
  /** Statuses that mean "refused, nothing done, try later". */
  statuses: readonly number[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
  statuses: [429, 503],
};

/**
 * Milliseconds to wait before attempt `attempt + 1`, or undefined when the caller should stop.
 * `Retry-After` is honoured as given (plus up to 10 %, at most 250 ms, of jitter so clients
 * refused together do not return together); without it the wait is exponential with equal
 * jitter: half the step for sure, the other half at random.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  if (retryAfterSeconds !== undefined) {
    const wait = retryAfterSeconds * 1000;
    if (wait > policy.maxRetryAfterMs) return undefined;
    return wait + Math.floor(random() * Math.min(250, wait * 0.1));
  }
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(step / 2 + (random() * step) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
