import { describe, expect, it } from 'vitest';
import { effectiveLimits, PLANS } from './plans.js';

describe('effectiveLimits', () => {
  it('uses the plan defaults where nothing is overridden', () => {
    expect(effectiveLimits('free', null)).toEqual(PLANS.free);
    expect(effectiveLimits('no-such-plan')).toEqual(PLANS.standard);
  });

  it('applies overrides, bigint ones included, and ignores nulls', () => {
    const limits = effectiveLimits('standard', {
      requestsPerSecond: 7,
      storageBytes: 1024n,
      burst: null,
    });
    expect(limits.requestsPerSecond).toBe(7);
    expect(limits.storageBytes).toBe(1024);
    expect(limits.burst).toBe(PLANS.standard.burst);
  });
});
