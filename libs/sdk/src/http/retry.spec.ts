import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfterSeconds } from '../errors.js';
import { DEFAULT_RETRY_POLICY, retryDelayMs, sleep } from './retry.js';

describe('Retry-After', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');

  it('reads delta-seconds and HTTP dates; ignores what it cannot read', () => {
    expect(parseRetryAfterSeconds('3', now)).toBe(3);
    expect(parseRetryAfterSeconds(' 0 ', now)).toBe(0);
    expect(parseRetryAfterSeconds('Sun, 01 Mar 2026 12:00:09 GMT', now)).toBe(9);
    expect(parseRetryAfterSeconds('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfterSeconds(null, now)).toBeUndefined();
    expect(parseRetryAfterSeconds('-1', now)).toBeUndefined();
    expect(parseRetryAfterSeconds('1.5', now)).toBeUndefined();
    expect(parseRetryAfterSeconds('soon', now)).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  const policy = DEFAULT_RETRY_POLICY;

  it('waits what Retry-After says (plus at most 10 % or 250 ms) and stops past the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (s, r) => {
          const delay = retryDelayMs(policy, 1, s, () => r)!;
          expect(delay).toBeGreaterThanOrEqual(s * 1000);
          expect(delay).toBeLessThanOrEqual(s * 1000 + Math.min(250, s * 100));
        },
      ),
    );
    expect(retryDelayMs(policy, 1, 61)).toBeUndefined();
  });

  it('backs off exponentially within [step/2, step] without Retry-After, capped', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (n, r) => {
          const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
          const delay = retryDelayMs(policy, n, undefined, () => r)!;
          expect(delay).toBeGreaterThanOrEqual(Math.floor(step / 2));
          expect(delay).toBeLessThanOrEqual(step);
        },
      ),
    );
    const long = { ...policy, maxAttempts: 50 };
    expect(retryDelayMs(long, 40, undefined, () => 0.999)).toBeLessThanOrEqual(policy.maxDelayMs);
  });

  it('stops after maxAttempts tries', () => {
    expect(retryDelayMs(policy, policy.maxAttempts, 1)).toBeUndefined();
    expect(retryDelayMs({ ...policy, maxAttempts: 1 }, 1, undefined)).toBeUndefined();
  });

  it('sleep rejects when its signal aborts', async () => {
    const controller = new AbortController();
    const waiting = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});
