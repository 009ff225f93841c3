// FP16 travels as 16-bit patterns; JavaScript has no Float16Array before Node 24, so values are
// converted here. Through a float32 first (bit operations on its pattern): a double exactly
// halfway between two halves after that rounding may round once more the other way, a
// difference of one unit in the last place that FP16 inputs do not need to care about.

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/** The FP16 bit pattern nearest to `value` (ties to even), ±Infinity past 65504, NaN kept. */
export function toFloat16Bits(value: number): number {
  float32[0] = value;
  const bits = float32Bits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (((bits >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  let shift = 13;
  let base = sign | (exponent << 10);
  if (exponent <= 0) {
    // Subnormal half: the implicit leading one becomes explicit and shifts out further.
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    shift = 14 - exponent;
    base = sign;
  }
  const half = mantissa >>> shift;
  const rest = mantissa & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  const roundUp = rest > halfway || (rest === halfway && (half & 1) === 1);
  // A carry out of the mantissa lands in the exponent, which is the right answer.
  return base + half + (roundUp ? 1 : 0);
}

export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
