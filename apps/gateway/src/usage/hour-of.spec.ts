import { describe, expect, it } from 'vitest';
import { hourOf } from './usage-meter.service.js';

const at = (iso: string) => new Date(iso).getTime();

describe('hourOf', () => {
  it('is the start of the UTC hour, at both edges of an hour and back again', () => {
    expect(hourOf(at('2026-12-07T02:00:00.000Z'))).toBe('2026-12-07T02:00:00.000Z');
    expect(hourOf(at('2026-12-07T02:59:59.999Z'))).toBe('2026-12-07T02:00:00.000Z');
    expect(hourOf(at('2026-12-07T03:00:00.000Z'))).toBe('2026-12-07T03:00:00.000Z');
    // An earlier hour after a later one (a request timed before a clock step): its own hour.
    expect(hourOf(at('2026-12-07T02:30:00.000Z'))).toBe('2026-12-07T02:00:00.000Z');
    expect(hourOf(at('2026-12-31T23:59:59.999Z'))).toBe('2026-12-31T23:00:00.000Z');
    expect(hourOf(at('2027-01-01T00:00:00.000Z'))).toBe('2027-01-01T00:00:00.000Z');
    // A half-hour time zone is still counted in the UTC hour.
    expect(hourOf(at('2026-12-07T08:15:00.000+05:30'))).toBe('2026-12-07T02:00:00.000Z');
  });

  it('matches the hour Date itself gives for any instant', () => {
    for (let i = 0; i < 1000; i++) {
      const t = Math.floor(Math.random() * 4_000_000_000_000);
      const hour = new Date(t);
      hour.setUTCMinutes(0, 0, 0);
      expect(hourOf(t)).toBe(hour.toISOString());
    }
  });
});
