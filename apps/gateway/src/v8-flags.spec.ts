import { heapLimitFactors } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { GATEWAY_V8_FLAGS } from './v8-flags.js';

describe('the gateway V8 flags', () => {
  it('make every full collection set the next limit at four times what survived, whatever V8 estimates', () => {
    const withFlags = heapLimitFactors(GATEWAY_V8_FLAGS);
    expect(withFlags.length).toBeGreaterThanOrEqual(3);
    for (const limit of withFlags) {
      expect(limit.factor).toBe(4);
      expect(limit.limitKb).toBeGreaterThanOrEqual(4 * limit.oldKb);
    }
    // Without them V8 lowers its factor once it has measured a quick marking and a slow
    // program: the flags decide it.
    expect(heapLimitFactors([]).some((limit) => limit.factor < 4)).toBe(true);
  }, 30_000);
});
