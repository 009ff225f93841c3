import { describe, expect, it } from 'vitest';
import {
  DATATYPES,
  datatypeForOrtType,
  elementByteSize,
  isDatatype,
  ortTypeForDatatype,
  typedArrayConstructor,
} from './datatype.js';
import {
  bfloat16BitsToNumber,
  float16BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
} from './half-float.js';
import { elementCount, formatShape, isShapeCompatible } from './tensor.js';

describe('datatypes', () => {
  it('knows the v2 names and their element sizes', () => {
    expect(DATATYPES).toHaveLength(14);
    expect(isDatatype('FP32')).toBe(true);
    expect(isDatatype('fp32')).toBe(false);
    expect(isDatatype('toString')).toBe(false);
    for (const datatype of DATATYPES) {
      // The name carries the width in bits (BOOL is a byte; BYTES has no fixed size), and the
      // typed array that holds the datatype has elements of that size.
      const bits = datatype === 'BOOL' ? 8 : Number(/\d+$/.exec(datatype)?.[0] ?? NaN);
      if (datatype === 'BYTES') {
        expect(elementByteSize(datatype), datatype).toBeNull();
        expect(bits, datatype).toBeNaN();
        continue;
      }
      expect(elementByteSize(datatype), datatype).toBe(bits / 8);
      expect(typedArrayConstructor(datatype).BYTES_PER_ELEMENT, datatype).toBe(bits / 8);
    }
  });

  it('maps to and from onnxruntime type strings', () => {
    for (const datatype of DATATYPES) {
      const ortType = ortTypeForDatatype(datatype);
      if (datatype === 'BF16') expect(ortType).toBeNull();
      else expect(datatypeForOrtType(ortType as string)).toBe(datatype);
    }
    expect(ortTypeForDatatype('FP16')).toBe('float16');
    expect(ortTypeForDatatype('BYTES')).toBe('string');
    expect(datatypeForOrtType('uint4')).toBeNull();
    expect(datatypeForOrtType('constructor')).toBeNull();
  });

  it('holds 64-bit integers in BigInt arrays and FP16 as raw bits', () => {
    expect(typedArrayConstructor('INT64')).toBe(BigInt64Array);
    expect(typedArrayConstructor('UINT64')).toBe(BigUint64Array);
    expect(typedArrayConstructor('BOOL')).toBe(Uint8Array);
    expect(typedArrayConstructor('FP16')).toBe(Uint16Array);
    expect(typedArrayConstructor('FP32')).toBe(Float32Array);
  });
});

describe('half floats', () => {
  it('encodes FP16 bit patterns exactly, rounding half to even', () => {
    expect(numberToFloat16Bits(1)).toBe(0x3c00);
    expect(numberToFloat16Bits(-2)).toBe(0xc000);
    expect(numberToFloat16Bits(65504)).toBe(0x7bff);
    expect(numberToFloat16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(numberToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(numberToFloat16Bits(2 ** -25)).toBe(0x0000); // halfway, ties to even (zero)
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway, ties to even
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(numberToFloat16Bits(-0)).toBe(0x8000);
    expect(numberToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float16BitsToNumber(numberToFloat16Bits(NaN))).toBeNaN();
  });

  it('round-trips every FP16 and BF16 bit pattern', () => {
    const mismatches: string[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const half = float16BitsToNumber(bits);
      if (!Number.isNaN(half) && numberToFloat16Bits(half) !== bits)
        mismatches.push(`fp16 ${bits}`);
      const brain = bfloat16BitsToNumber(bits);
      if (!Number.isNaN(brain) && numberToBfloat16Bits(brain) !== bits)
        mismatches.push(`bf16 ${bits}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('encodes BF16 as the top half of a float32', () => {
    const float32Bits = new Uint32Array(Float32Array.of(3.140625).buffer)[0] as number;
    expect(numberToBfloat16Bits(3.140625)).toBe(float32Bits >>> 16);
  });
});

describe('shapes', () => {
  it('counts elements and formats shapes', () => {
    expect(elementCount([3, 4])).toBe(12);
    expect(elementCount([])).toBe(1);
    expect(elementCount([5, 0])).toBe(0);
    expect(formatShape([3, 4])).toBe('[3,4]');
  });

  it('matches shapes against signatures with free dims', () => {
    expect(isShapeCompatible([8, 4], [-1, 4])).toBe(true);
    expect(isShapeCompatible([8, 5], [-1, 4])).toBe(false);
    expect(isShapeCompatible([8], [-1, 4])).toBe(false);
    expect(isShapeCompatible([], [])).toBe(true);
  });
});
