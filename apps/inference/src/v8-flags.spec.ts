import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { INFERENCE_V8_FLAGS } from './v8-flags.js';

/**
 * Runs full collections in a fresh Node process after setting `flags` the way bootstrapApp does
 * (setFlagsFromString, once the process runs), and returns the growing factor V8's own trace
 * reports for each new old-generation limit.
 */
function limitFactors(
  flags: readonly string[],
): { oldKb: number; limitKb: number; factor: number }[] {
  const script = `
    const { setFlagsFromString } = require('node:v8');
    for (const flag of JSON.parse(process.argv[1])) setFlagsFromString(flag);
    setFlagsFromString('--trace-gc-verbose');
    const live = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100000; i++) live.push({ round, i, pair: [i, round] });
      gc();
    }
  `;
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '-e', script, JSON.stringify(flags)],
    {
      encoding: 'utf8',
    },
  );
  return [
    ...output.matchAll(
      /\[HeapController\] Limit: old size: (\d+) KB, new limit: (\d+) KB \(([\d.]+)\)/g,
    ),
  ].map((match) => ({
    oldKb: Number(match[1]),
    limitKb: Number(match[2]),
    factor: Number(match[3]),
  }));
}

describe('the inference worker V8 flags', () => {
  it('make every full collection set the next limit at twice what survived, whatever V8 estimates', () => {
    const withFlags = limitFactors(INFERENCE_V8_FLAGS);
    expect(withFlags.length).toBeGreaterThanOrEqual(3);
    for (const limit of withFlags) {
      expect(limit.factor).toBe(2);
      expect(limit.limitKb).toBeGreaterThanOrEqual(2 * limit.oldKb);
    }
    // Without them V8 picks its own factor from its speed estimates (here its maximum, 4, as
    // nothing was measured yet; 1.1 in the storms v8-flags.ts describes): the flags decide it.
    const without = limitFactors([]);
    expect(without.length).toBeGreaterThanOrEqual(3);
    expect(without.some((limit) => limit.factor !== 2)).toBe(true);
  });
});
