import { execFileSync } from 'node:child_process';

/**
 * Runs full collections in a fresh Node process after setting `flags` the way bootstrapApp does
 * (setFlagsFromString, once the process runs), and returns the growing factor V8's own trace
 * reports for each new old-generation limit (the apps' v8-flags specs).
 */
export function heapLimitFactors(
  flags: readonly string[],
): { oldKb: number; limitKb: number; factor: number }[] {
  // A heap that is mostly large pointer-free strings (as the apps' module sources are), quick to
  // mark, and a program that allocates slowly between collections: V8's own estimate then
  // lowers its factor from its maximum (4) after a few collections (1.5-1.8 here).
  const script = `
    const { setFlagsFromString } = require('node:v8');
    for (const flag of JSON.parse(process.argv[1])) setFlagsFromString(flag);
    setFlagsFromString('--trace-gc-verbose');
    const live = [];
    for (let i = 0; i < 400; i++) live.push('x'.repeat(100000) + i);
    (async () => {
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 2000; i++) live.push({ round, i, pair: [i, round] });
        await new Promise((resolve) => setTimeout(resolve, 50));
        gc();
      }
    })();
  `;
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '-e', script, JSON.stringify(flags)],
    { encoding: 'utf8' },
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
