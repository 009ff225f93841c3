// FP16 and BF16 travel as raw 16-bit patterns (ORT's JS API and Node 20 have no Float16Array),
// so JSON numbers are converted here, correctly rounded from the double (round half to even).

interface MiniFloatFormat {
  exponentBits: number;
  mantissaBits: number;
}

const FLOAT16: MiniFloatFormat = { exponentBits: 5, mantissaBits: 10 };
const BFLOAT16: MiniFloatFormat = { exponentBits: 8, mantissaBits: 7 };

function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function encodeMiniFloat(value: number, format: MiniFloatFormat): number {
  const { exponentBits, mantissaBits } = format;
  const bias = (1 << (exponentBits - 1)) - 1;
  const infinityBits = ((1 << exponentBits) - 1) << mantissaBits;
  if (Number.isNaN(value)) return infinityBits | (1 << (mantissaBits - 1));
  const sign = value < 0 || Object.is(value, -0) ? 1 << (exponentBits + mantissaBits) : 0;
  const magnitude = Math.abs(value);
  if (magnitude === Infinity) return sign | infinityBits;
  const minNormalExponent = 1 - bias;
  if (magnitude < 2 ** minNormalExponent) {
    // Subnormal; a result of 1 << mantissaBits is exactly the smallest normal's encoding.
    return sign | roundHalfToEven(magnitude * 2 ** (mantissaBits - minNormalExponent));
  }
  let exponent = Math.floor(Math.log2(magnitude));
  // log2 can be off by one near powers of two.
  if (2 ** exponent > magnitude) exponent -= 1;
  else if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  // Division by a power of two and the scaling below are exact in doubles.
  let mantissa = roundHalfToEven((magnitude / 2 ** exponent - 1) * 2 ** mantissaBits);
  if (mantissa === 1 << mantissaBits) {
    mantissa = 0;
    exponent += 1;
  }
  if (exponent > bias) return sign | infinityBits;
  return sign | ((exponent + bias) << mantissaBits) | mantissa;
}

function decodeMiniFloat(bits: number, format: MiniFloatFormat): number {
  const { exponentBits, mantissaBits } = format;
  const bias = (1 << (exponentBits - 1)) - 1;
  const maxExponent = (1 << exponentBits) - 1;
  const sign = bits & (1 << (exponentBits + mantissaBits)) ? -1 : 1;
  const exponent = (bits >> mantissaBits) & maxExponent;
  const mantissa = bits & ((1 << mantissaBits) - 1);
  if (exponent === 0) return sign * mantissa * 2 ** (1 - bias - mantissaBits);
  if (exponent === maxExponent) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 2 ** mantissaBits) * 2 ** (exponent - bias);
}

export function numberToFloat16Bits(value: number): number {
  return encodeMiniFloat(value, FLOAT16);
}

export function float16BitsToNumber(bits: number): number {
  return decodeMiniFloat(bits, FLOAT16);
}

export function numberToBfloat16Bits(value: number): number {
  return encodeMiniFloat(value, BFLOAT16);
}

export function bfloat16BitsToNumber(bits: number): number {
  return decodeMiniFloat(bits, BFLOAT16);
}
