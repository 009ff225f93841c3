import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import { quoteLongIntegers } from './tensor-codec.js';

// What the SDK's codec does alone. Its agreement with the platform's codecs, in JSON and in the
// binary extension, is checked beside them (libs/tensors/src/sdk-agreement.spec.ts), the
// server lib being the reference.

describe('64-bit integers in JSON answers', () => {
  it('are quoted only outside strings (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.string(), fc.bigInt(), fc.double({ noNaN: true, noDefaultInfinity: true })),
        ),
        (items) => {
          const json = `[${items.map((v) => (typeof v === 'bigint' ? v.toString() : JSON.stringify(v))).join(',')}]`;
          const parsed = JSON.parse(quoteLongIntegers(json)) as unknown[];
          parsed.forEach((value, i) => {
            const item = items[i];
            if (typeof item === 'string') expect(value).toBe(item);
            else if (typeof item === 'bigint') expect(BigInt(value as string | number)).toBe(item);
            else expect(Number(value)).toBe(item === 0 ? 0 : Number(JSON.stringify(item)));
          });
        },
      ),
    );
  });
});

describe('FP16 conversion', () => {
  it('rounds to the nearest half and saturates to infinity', () => {
    expect(fromFloat16Bits(toFloat16Bits(1 + 2 ** -11))).toBe(1); // a tie goes to even
    expect(fromFloat16Bits(toFloat16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(fromFloat16Bits(toFloat16Bits(70000))).toBe(Infinity);
    expect(fromFloat16Bits(toFloat16Bits(2 ** -24))).toBe(2 ** -24);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
  });
});
