import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { seededRandom } from '@maas/onnx';
import type { DenseLayerWeights } from '../export/onnx-export.js';
import { earlyStopping, type ManualFitLogs } from './dense-backprop.js';
import {
  adamStepScalars,
  buildEvaluationModel,
  buildTrainingScanModel,
  type DenseTrainingNet,
  OPTIMIZER_CONSTANTS,
  OPTIMIZER_SLOTS,
  parameterCount,
  stateNames,
} from './onnx-training-graph.js';

export interface OnnxFitOptions {
  net: DenseTrainingNet;
  /** Starting weights per layer (the TF.js model's initialised kernel [in, out] and bias). */
  initial: { kernel: Float32Array; bias: Float32Array }[];
  /** Encoded feature rows, row-major [rows, inputs]. */
  x: Float32Array;
  /** One-hot rows (classification) or targets, row-major [rows, outputs]. */
  y: Float32Array;
  rows: number;
  epochs: number;
  batchSize: number;
  validationSplit: number;
  patience: number;
  /** Intra-op threads for ONNX Runtime; defaults to the cores this process may use. */
  threads?: number;
  onEpochEnd: (epoch: number, logs: ManualFitLogs) => Promise<boolean>;
  /** Checked between chunks of steps, so a cancel does not wait for the epoch to end. */
  shouldStop?: () => boolean;
}

export interface OnnxFitResult {
  layers: DenseLayerWeights[];
  epochsRun: number;
}

/** Floating-point operations per run: enough to amortise a call, short enough to cancel. */
const CHUNK_FLOPS = 4e9;
const MAX_CHUNK_STEPS = 256;

function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // ORT's default: pool threads spin briefly between ops rather than sleep. A step is ~40
    // short ops and waking a sleeping thread for each costs more than some of them (5–30%
    // slower here without spinning, idle machine); callers sharing cores pass fewer threads.
    extra: { session: { intra_op: { allow_spinning: '1' } } },
    logSeverityLevel: 3,
  };
}

const { epsilon: EPSILON } = OPTIMIZER_CONSTANTS;

/**
 * Σ over rows of the loss TF.js reports (categorical cross-entropy on probabilities clipped to
 * [ε, 1 − ε], or squared error averaged over outputs) and of correct predictions (argmax, first
 * maximum on ties), from the network's outputs for rows in order.
 */
function batchLossAndHits(
  predicted: Float32Array,
  rows: Int32Array,
  y: Float32Array,
  outputs: number,
  classification: boolean,
): { loss: number; hits: number } {
  let loss = 0;
  let hits = 0;
  for (let k = 0; k < rows.length; k += 1) {
    const p = k * outputs;
    const t = rows[k] * outputs;
    if (classification) {
      let best = 0;
      let label = 0;
      for (let c = 0; c < outputs; c += 1) {
        // One-hot targets: a log only where y is non-zero.
        if (y[t + c] !== 0) {
          const probability = Math.min(Math.max(predicted[p + c], EPSILON), 1 - EPSILON);
          loss -= y[t + c] * Math.log(probability);
        }
        if (predicted[p + c] > predicted[p + best]) best = c;
        if (y[t + c] > y[t + label]) label = c;
      }
      if (best === label) hits += 1;
    } else {
      for (let c = 0; c < outputs; c += 1) loss += (predicted[p + c] - y[t + c]) ** 2 / outputs;
    }
  }
  return { loss, hits };
}

/**
 * Trains a stack of Dense layers with ONNX Runtime (MLAS kernels): the same forward pass,
 * loss, gradients, optimizer update and batch order as {@link fitDenseManually}, one Scan over
 * a chunk of batches per session run with the weights and optimizer state carried inside it.
 * Validation rows are the last ones, as with model.fit.
 */
export async function fitDenseWithOnnxRuntime(options: OnnxFitOptions): Promise<OnnxFitResult> {
  const { net } = options;
  const width = net.sizes[0];
  const outputs = net.sizes[net.sizes.length - 1];
  const names = stateNames(net);
  const threads = options.threads ?? Math.max(1, availableParallelism());
  const { rows } = options;
  const nVal = options.validationSplit > 0 ? Math.floor(rows * options.validationSplit) : 0;
  const nTrain = rows - nVal;
  const batchSize = Math.min(options.batchSize, nTrain);
  const fullBatches = Math.floor(nTrain / batchSize);
  const lastBatch = nTrain - fullBatches * batchSize;
  const count = parameterCount(net.sizes);
  const chunkSteps = Math.max(
    1,
    Math.min(
      Math.max(fullBatches, 1),
      MAX_CHUNK_STEPS,
      Math.floor(CHUNK_FLOPS / (6 * batchSize * count)),
    ),
  );

  const training = await ort.InferenceSession.create(
    buildTrainingScanModel(net),
    sessionOptions(threads),
  );
  const evaluation =
    nVal > 0
      ? await ort.InferenceSession.create(buildEvaluationModel(net), sessionOptions(threads))
      : null;

  const weights = new Float32Array(count);
  let offset = 0;
  for (const layer of options.initial) {
    weights.set(layer.kernel, offset);
    weights.set(layer.bias, offset + layer.kernel.length);
    offset += layer.kernel.length + layer.bias.length;
  }
  const state: Record<string, ort.Tensor> = {
    weights: new ort.Tensor('float32', weights, [count]),
  };
  for (const slot of OPTIMIZER_SLOTS[net.optimizer]) {
    state[`weights_${slot.name}`] = new ort.Tensor(
      'float32',
      new Float32Array(count).fill(slot.initial),
      [count],
    );
  }
  // Every row goes in once per run without a copy; each step gathers its batch by index.
  const xAll = new ort.Tensor('float32', options.x, [rows, width]);
  const yAll = new ort.Tensor('float32', options.y, [rows, outputs]);
  const valFeeds =
    nVal > 0
      ? {
          x: new ort.Tensor('float32', options.x.subarray(nTrain * width), [nVal, width]),
          y: new ort.Tensor('float32', options.y.subarray(nTrain * outputs), [nVal, outputs]),
          inv_size: new ort.Tensor('float32', Float32Array.of(1 / nVal), [1]),
        }
      : null;

  const random = seededRandom(net.seed);
  const order = new Int32Array(nTrain);
  for (let i = 0; i < nTrain; i += 1) order[i] = i;
  let iterations = 0;

  /** Runs `steps` batches of `size` rows from order[first…]; answers Σ row loss and hits. */
  const runChunk = async (first: number, steps: number, size: number) => {
    const feeds: Record<string, ort.Tensor> = {
      ...state,
      x: xAll,
      y: yAll,
      batch_rows: new ort.Tensor('int32', order.slice(first, first + steps * size), [steps, size]),
      inv_size: new ort.Tensor('float32', Float32Array.of(1 / size), []),
    };
    if (net.optimizer === 'adam') {
      const rate = new Float32Array(steps);
      const epsilon = new Float32Array(steps);
      for (let s = 0; s < steps; s += 1) {
        [rate[s], epsilon[s]] = adamStepScalars(net.learningRate, iterations + s + 1);
      }
      feeds.adam_rate = new ort.Tensor('float32', rate, [steps]);
      feeds.adam_epsilon = new ort.Tensor('float32', epsilon, [steps]);
    }
    iterations += steps;
    const result = await training.run(feeds);
    for (const name of names) state[name] = result[`${name}_next`] as ort.Tensor;
    return batchLossAndHits(
      result.outputs.data as Float32Array,
      order.subarray(first, first + steps * size),
      options.y,
      outputs,
      net.classification,
    );
  };

  const plateaued = earlyStopping(options.patience);
  let epochsRun = 0;
  let stopped = false;
  try {
    for (let epoch = 0; epoch < options.epochs && !stopped; epoch += 1) {
      for (let i = nTrain - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      let lossSum = 0;
      let hitSum = 0;
      // Full batches in chunks, then the short last batch on its own (a Scan's steps share
      // one shape).
      const chunks: [first: number, steps: number, size: number][] = [];
      for (let step = 0; step < fullBatches; step += chunkSteps) {
        chunks.push([step * batchSize, Math.min(chunkSteps, fullBatches - step), batchSize]);
      }
      if (lastBatch > 0) chunks.push([fullBatches * batchSize, 1, lastBatch]);
      for (const [first, steps, size] of chunks) {
        if (options.shouldStop?.()) {
          stopped = true;
          break;
        }
        const { loss, hits } = await runChunk(first, steps, size);
        lossSum += loss;
        hitSum += hits;
      }
      if (stopped) break;
      const logs: ManualFitLogs = { loss: lossSum / nTrain };
      if (net.classification) logs.acc = hitSum / nTrain;
      if (evaluation && valFeeds) {
        const result = await evaluation.run({ ...valFeeds, weights: state.weights });
        logs.val_loss = (result.loss.data as Float32Array)[0];
        if (net.classification) logs.val_acc = (result.hits.data as Float32Array)[0] / nVal;
      }
      epochsRun = epoch + 1;
      if ((await options.onEpochEnd(epoch, logs)) || plateaued(logs)) break;
    }
  } finally {
    await training.release();
    await evaluation?.release();
  }
  const trained = state.weights.data as Float32Array;
  const layers: DenseLayerWeights[] = [];
  offset = 0;
  for (let l = 0; l < net.sizes.length - 1; l += 1) {
    const [inputs, units] = [net.sizes[l], net.sizes[l + 1]];
    const kernel = trained.slice(offset, offset + inputs * units);
    offset += kernel.length;
    const bias = trained.slice(offset, offset + units);
    offset += units;
    layers.push({ kernel, bias, inputs, outputs: units });
  }
  return { layers, epochsRun };
}
