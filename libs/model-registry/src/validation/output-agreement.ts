import { decodeModel, seededRandom, toV2Datatype } from '@maas/onnx';
import * as ort from 'onnxruntime-node';
import { type Datatype, ortTypeForDatatype, type Tensor, type TensorSpec } from '@maas/tensors';
import { type OrtSessionTuning, ortSessionOptions } from './ort-session-options.js';

export interface OutputAgreementOptions {
  /** Rows generated and compared (default 500). */
  samples?: number;
  /** Rows per run (default 50); also the size given to every symbolic dimension. */
  batchSize?: number;
  seed?: number;
  /** Defaults to one thread, no spinning: a check, not a serving session. */
  session?: OrtSessionTuning;
  /** Rows to compare on instead of generated ones (one run; `samples` is then their count). */
  feeds?: { rows: number; tensors: Record<string, ort.Tensor> };
}

export interface OutputComparison {
  name: string;
  /**
   * Rows whose arg-max over the last axis is the same in both models, as a fraction: present
   * for outputs shaped [batch, classes ≥ 2] (classifier scores or probabilities).
   */
  top1Agreement?: number;
  maxAbsError: number;
  /** maxAbsError over the largest |value| the source model gave for this output. */
  maxRelativeError: number;
}

export interface OutputAgreement {
  samples: number;
  seed: number;
  outputs: OutputComparison[];
}

interface InputSpec {
  name: string;
  elemType: number;
  dims: (number | null)[];
}

/**
 * Runs a source model and an optimised one in onnxruntime on the same seeded inputs, generated
 * from the source's input signature (floats uniform in [0, 1), integers in [0, 10), booleans),
 * and compares their float outputs. Both models must have the same inputs and outputs.
 */
export async function measureOutputAgreement(
  sourceBytes: Uint8Array,
  optimizedBytes: Uint8Array,
  options: OutputAgreementOptions = {},
): Promise<OutputAgreement> {
  const given = options.feeds;
  const samples = given ? given.rows : (options.samples ?? 500);
  const batchSize = given ? Math.max(1, given.rows) : (options.batchSize ?? 50);
  const seed = options.seed ?? 1;
  const inputs = inputSpecs(sourceBytes);
  const sessionOptions = ortSessionOptions(
    options.session ?? { intraOpThreads: 1, interOpThreads: 1, logSeverityLevel: 3 },
  );
  const source = await ort.InferenceSession.create(Buffer.from(sourceBytes), sessionOptions);
  let optimized: ort.InferenceSession | undefined;
  try {
    optimized = await ort.InferenceSession.create(Buffer.from(optimizedBytes), sessionOptions);
    const random = seededRandom(seed);
    const totals = new Map<string, { agree: number; rows: number; abs: number; peak: number }>();
    for (let done = 0; done < samples; done += batchSize) {
      const rows = Math.min(batchSize, samples - done);
      const feeds = given?.tensors ?? randomFeeds(inputs, rows, random);
      const [expected, actual] = [await source.run(feeds), await optimized.run(feeds)];
      for (const name of source.outputNames) {
        const reference = expected[name];
        const candidate = actual[name];
        if (!candidate) throw new Error(`the optimised model has no output '${name}'`);
        if (
          !(reference.data instanceof Float32Array) ||
          !(candidate.data instanceof Float32Array)
        ) {
          continue;
        }
        const total = totals.get(name) ?? { agree: 0, rows: 0, abs: 0, peak: 0 };
        compare(reference.data, candidate.data, reference.dims, total);
        totals.set(name, total);
      }
    }
    return {
      samples,
      seed,
      outputs: [...totals].map(([name, total]) => ({
        name,
        ...(total.rows > 0 && { top1Agreement: total.agree / total.rows }),
        maxAbsError: total.abs,
        maxRelativeError: total.peak > 0 ? total.abs / total.peak : total.abs,
      })),
    };
  } finally {
    await source.release();
    await optimized?.release();
  }
}

function compare(
  reference: Float32Array,
  candidate: Float32Array,
  dims: readonly number[],
  total: { agree: number; rows: number; abs: number; peak: number },
): void {
  for (let index = 0; index < reference.length; index += 1) {
    total.abs = Math.max(total.abs, Math.abs(reference[index] - candidate[index]));
    total.peak = Math.max(total.peak, Math.abs(reference[index]));
  }
  const classes = dims.length === 2 ? dims[1] : 0;
  if (classes < 2) return;
  for (let start = 0; start < reference.length; start += classes) {
    const same = argMax(reference, start, classes) === argMax(candidate, start, classes) ? 1 : 0;
    total.agree += same;
    total.rows += 1;
  }
}

function argMax(values: Float32Array, start: number, length: number): number {
  let best = 0;
  for (let offset = 1; offset < length; offset += 1) {
    if (values[start + offset] > values[start + best]) best = offset;
  }
  return best;
}

/**
 * Seeded inputs for `rows` rows generated from a model's input signature (as the agreement check
 * uses them): for timing a model, or running two on the same rows.
 */
export function generatedFeeds(
  modelBytes: Uint8Array,
  rows: number,
  seed = 1,
): Record<string, ort.Tensor> {
  return randomFeeds(inputSpecs(modelBytes), rows, seededRandom(seed));
}

function randomFeeds(
  inputs: readonly InputSpec[],
  rows: number,
  random: () => number,
): Record<string, ort.Tensor> {
  return Object.fromEntries(
    inputs.map((input) => {
      const datatype = toV2Datatype(input.elemType) as Datatype | undefined;
      if (!datatype || !GENERATED.has(datatype)) {
        throw new Error(
          `input '${input.name}' has element type ${input.elemType}; agreement inputs are generated for float, double, int32, int64 and bool only`,
        );
      }
      // Symbolic dimensions: the first is the batch, any other gets 1.
      const dims = input.dims.map((dim, index) => dim ?? (index === 0 ? rows : 1));
      const data = randomData(input.name, datatype, dims, random);
      return [input.name, new ort.Tensor(ortTypeForDatatype(datatype)!, data, dims)];
    }),
  );
}

/**
 * Median wall time of `run` in ms (4 decimals), over `runs` timed calls after `warmUpRuns`
 * untimed ones: how a model's latency is reported, on the trainer and on a worker alike.
 */
export async function medianRunMs(
  run: () => Promise<unknown>,
  { runs, warmUpRuns }: { runs: number; warmUpRuns: number },
): Promise<number> {
  for (let i = 0; i < warmUpRuns; i += 1) await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  times.sort((x, y) => x - y);
  return Number(times[Math.floor(times.length / 2)]!.toFixed(4));
}

/**
 * generatedFeeds for a version's stored signature (free dims, -1, as for generatedFeeds'
 * symbolic ones), as tensors a serving runtime takes: what a worker measures a version on.
 */
export function generatedInputs(
  signature: readonly TensorSpec[],
  rows: number,
  seed = 1,
): Tensor[] {
  const random = seededRandom(seed);
  return signature.map((spec) => {
    const shape = spec.shape.map((dim, index) => (dim >= 0 ? dim : index === 0 ? rows : 1));
    return {
      name: spec.name,
      datatype: spec.datatype,
      shape,
      data: randomData(spec.name, spec.datatype, shape, random),
    };
  });
}

/** The datatypes inputs are generated for (randomData). */
const GENERATED = new Set<Datatype>(['FP32', 'FP64', 'INT32', 'INT64', 'BOOL']);

/** Floats uniform in [0, 1), integers in [0, 10), booleans as 0/1. */
function randomData(
  name: string,
  datatype: Datatype,
  dims: readonly number[],
  random: () => number,
): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array {
  const length = dims.reduce((product, dim) => product * dim, 1);
  switch (datatype) {
    case 'FP32':
      return Float32Array.from({ length }, random);
    case 'FP64':
      return Float64Array.from({ length }, random);
    case 'INT32':
      return Int32Array.from({ length }, () => Math.floor(random() * 10));
    case 'INT64':
      return BigInt64Array.from({ length }, () => BigInt(Math.floor(random() * 10)));
    case 'BOOL':
      return Uint8Array.from({ length }, () => (random() < 0.5 ? 1 : 0));
    default:
      throw new Error(
        `input '${name}' is ${datatype}; inputs are generated for FP32, FP64, INT32, INT64 and BOOL only`,
      );
  }
}

function inputSpecs(modelBytes: Uint8Array): InputSpec[] {
  const { graph } = decodeModel(modelBytes);
  const constants = new Set(graph.initializer.map((tensor) => tensor.name));
  return graph.input
    .filter((input) => !constants.has(input.name))
    .map((input) => {
      const tensorType = input.type?.tensorType;
      if (!tensorType) throw new Error(`input '${input.name}' is not a tensor`);
      return {
        name: input.name,
        elemType: tensorType.elemType,
        dims: (tensorType.shape?.dim ?? []).map((dim) =>
          dim.dimValue !== undefined && dim.dimValue > 0 ? dim.dimValue : null,
        ),
      };
    });
}
