import { describe, expect, it } from 'vitest';
import { currentMonth, secondsUntilNextMonth, startOfMonth } from './rate-limiter.service.js';

describe('currentMonth', () => {
  it('names the UTC month of the instant, at both edges of a month and back again', () => {
    expect(currentMonth(new Date('2026-12-01T00:00:00.000Z'))).toBe('2026-12');
    expect(currentMonth(new Date('2026-12-31T23:59:59.999Z'))).toBe('2026-12');
    expect(currentMonth(new Date('2027-01-01T00:00:00.000Z'))).toBe('2027-01');
    // Back to the month before (a clock set back): not the month computed last.
    expect(currentMonth(new Date('2026-12-15T12:00:00.000Z'))).toBe('2026-12');
    expect(currentMonth(new Date('2026-11-30T23:59:59.999Z'))).toBe('2026-11');
    // UTC, not local time: 23:30 on the 31st at UTC−2 is already the 1st in UTC.
    expect(currentMonth(new Date('2026-03-31T23:30:00.000-02:00'))).toBe('2026-04');
  });

  it('agrees with startOfMonth and secondsUntilNextMonth for now', () => {
    const now = new Date();
    expect(currentMonth()).toBe(now.toISOString().slice(0, 7));
    expect(startOfMonth(now).toISOString().slice(0, 7)).toBe(currentMonth(now));
    expect(secondsUntilNextMonth(now)).toBeGreaterThanOrEqual(1);
  });
});
