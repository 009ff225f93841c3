import { describe, expect, it } from 'vitest';
import { isoTimeNow } from './logger.js';

describe('isoTimeNow (the access log line’s time)', () => {
  it('gives what toISOString gives, across seconds, days and years, and back in time', () => {
    const instants = [
      Date.UTC(2026, 11, 31, 23, 59, 59, 998),
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(2027, 0, 1, 0, 0, 0, 0),
      Date.UTC(2027, 0, 1, 0, 0, 0, 7),
      Date.UTC(2027, 0, 1, 0, 0, 0, 42),
      Date.UTC(2027, 0, 1, 0, 0, 1, 0),
      Date.UTC(2026, 11, 31, 23, 59, 59, 999), // back again
      Date.UTC(2028, 1, 29, 12, 0, 0, 500),
    ];
    let t = Date.UTC(2026, 11, 7, 5, 0, 0, 0);
    for (let i = 0; i < 2000; i++) instants.push((t += 1 + ((i * 7919) % 997)));
    for (const instant of instants)
      expect(isoTimeNow(instant)).toBe(new Date(instant).toISOString());
  });
});
