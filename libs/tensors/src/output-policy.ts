import type { Datatype } from './datatype.js';
import { bfloat16BitsToNumber, float16BitsToNumber } from './half-float.js';
import type { Tensor, TensorSpec } from './tensor.js';

/**
 * What a version's answers may reveal (`servingConfig.outputPolicy`): floating outputs rounded
 * to `roundDecimals`, class-score outputs cut to their `topK` best classes, or with
 * `labelOnly` nothing but the non-floating outputs (a classifier's label). Applied by the worker
 * to both protocols, so the full score surface never leaves it.
 */
export interface OutputPolicy {
  roundDecimals?: number;
  topK?: number;
  labelOnly?: boolean;
}

export const MAX_ROUND_DECIMALS = 10;
export const MAX_TOP_K = 1000;
/** topK answers output `x` as its k best scores and `x` + this suffix as their class indices. */
export const TOP_K_INDICES_SUFFIX = '_indices';

const FLOATING: ReadonlySet<Datatype> = new Set(['FP16', 'BF16', 'FP32', 'FP64']);

export function isFloatingDatatype(datatype: Datatype): boolean {
  return FLOATING.has(datatype);
}

/** A class-score output: floating, [rows, classes] with more than one class (or a free dim). */
function isScoreSpec(spec: Pick<TensorSpec, 'datatype' | 'shape'>): boolean {
  return isFloatingDatatype(spec.datatype) && spec.shape.length === 2 && spec.shape[1] !== 1;
}

/**
 * The policy in a stored serving config, read defensively (rows written before validation
 * existed, or by hand): anything malformed is ignored, so a bad row never fails serving.
 */
export function outputPolicyFrom(servingConfig: unknown): OutputPolicy | null {
  if (typeof servingConfig !== 'object' || servingConfig === null) return null;
  const raw = (servingConfig as { outputPolicy?: unknown }).outputPolicy;
  if (typeof raw !== 'object' || raw === null) return null;
  const { roundDecimals, topK, labelOnly } = raw as Record<string, unknown>;
  const policy: OutputPolicy = {};
  if (Number.isInteger(roundDecimals) && (roundDecimals as number) >= 0) {
    policy.roundDecimals = Math.min(roundDecimals as number, MAX_ROUND_DECIMALS);
  }
  if (Number.isInteger(topK) && (topK as number) >= 1) {
    policy.topK = Math.min(topK as number, MAX_TOP_K);
  }
  if (labelOnly === true) policy.labelOnly = true;
  return Object.keys(policy).length > 0 ? policy : null;
}

/**
 * Why `policy` cannot apply to a version with these outputs, or null when it can: labelOnly
 * needs a non-floating output and excludes the score options; topK needs a class-score output.
 */
export function outputPolicyProblem(
  policy: OutputPolicy,
  outputs: readonly TensorSpec[],
): string | null {
  if (policy.labelOnly) {
    if (policy.topK !== undefined || policy.roundDecimals !== undefined) {
      return 'outputPolicy.labelOnly answers no scores: leave out topK and roundDecimals';
    }
    if (!outputs.some((o) => !isFloatingDatatype(o.datatype))) {
      return 'outputPolicy.labelOnly: the version has no label output (every output is floating-point)';
    }
  }
  if (policy.topK !== undefined) {
    const scores = outputs.filter(isScoreSpec);
    if (scores.length === 0) {
      return 'outputPolicy.topK: the version has no class-score output (floating-point, [rows, classes])';
    }
    const names = new Set(outputs.map((o) => o.name));
    const clash = scores.find((o) => names.has(o.name + TOP_K_INDICES_SUFFIX));
    if (clash) {
      return `outputPolicy.topK: output '${clash.name}${TOP_K_INDICES_SUFFIX}' already exists, so the class indices of '${clash.name}' have no name to go under`;
    }
  }
  return null;
}

/** Whether the policy keeps this output from being answered at all. */
export function isWithheldOutput(
  policy: OutputPolicy | null,
  spec: Pick<TensorSpec, 'datatype'>,
): boolean {
  return policy?.labelOnly === true && isFloatingDatatype(spec.datatype);
}

function floatingValues(tensor: Tensor): ArrayLike<number> {
  switch (tensor.datatype) {
    case 'FP16':
      return Array.from(tensor.data as Uint16Array, float16BitsToNumber);
    case 'BF16':
      return Array.from(tensor.data as Uint16Array, bfloat16BitsToNumber);
    default:
      return tensor.data as Float32Array | Float64Array;
  }
}

/** The k best classes per row, best first (the lower index on ties). */
function topK(tensor: Tensor, k: number): Tensor[] {
  const [rows, classes] = tensor.shape as [number, number];
  const kept = Math.min(k, classes);
  const values = floatingValues(tensor);
  // FP32 stays FP32; half floats and FP64 come out as FP64 (their exact values).
  const scores =
    tensor.datatype === 'FP32' ? new Float32Array(rows * kept) : new Float64Array(rows * kept);
  const indices = new BigInt64Array(rows * kept);
  const order = Array.from({ length: classes }, (_, c) => c);
  for (let r = 0; r < rows; r += 1) {
    const base = r * classes;
    order.sort((a, b) => values[base + b] - values[base + a] || a - b);
    for (let j = 0; j < kept; j += 1) {
      scores[r * kept + j] = values[base + order[j]];
      indices[r * kept + j] = BigInt(order[j]);
    }
  }
  return [
    {
      name: tensor.name,
      datatype: tensor.datatype === 'FP32' ? 'FP32' : 'FP64',
      shape: [rows, kept],
      data: scores,
    },
    {
      name: tensor.name + TOP_K_INDICES_SUFFIX,
      datatype: 'INT64',
      shape: [rows, kept],
      data: indices,
    },
  ];
}

/**
 * Rounded to `decimals` and answered as FP64: a float32 cannot hold 0.12, so FP32 would print
 * 0.11999999731779099 in JSON and look unrounded.
 */
function rounded(tensor: Tensor, decimals: number): Tensor {
  const values = floatingValues(tensor);
  const scale = 10 ** decimals;
  const data = new Float64Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    data[i] = Number.isFinite(value) ? Math.round(value * scale) / scale : value;
  }
  return { name: tensor.name, datatype: 'FP64', shape: tensor.shape, data };
}

/** The answer the policy lets out, from the outputs the model computed. */
export function applyOutputPolicy(outputs: Tensor[], policy: OutputPolicy | null): Tensor[] {
  if (!policy) return outputs;
  let answered = outputs.filter((o) => !isWithheldOutput(policy, o));
  if (policy.topK !== undefined) {
    const k = policy.topK;
    answered = answered.flatMap((o) => (isScoreSpec(o) && o.shape[1] > 1 ? topK(o, k) : [o]));
  }
  if (policy.roundDecimals !== undefined) {
    const decimals = policy.roundDecimals;
    answered = answered.map((o) => (isFloatingDatatype(o.datatype) ? rounded(o, decimals) : o));
  }
  return answered;
}
