import * as tf from '@tensorflow/tfjs';
import type { TfjsBackendName } from '@maas/tfjs-runtime';
import type { MlpHyperparameters } from '../job-spec/job-spec.js';
import type { DenseLayerWeights } from '../export/onnx-export.js';
import { canBackpropManually, fitDenseManually } from './dense-backprop.js';
import { fitDenseWithOnnxRuntime } from './onnx-dense-trainer.js';

/**
 * What runs the training steps: TF.js on its active backend, or ONNX Runtime's CPU kernels
 * (same network, loss and optimizer; the weights end up in the same TF.js layers model).
 */
export type MlpEngine = 'tfjs' | 'onnxruntime';

/**
 * ONNX Runtime trains when TF.js would run on wasm or its pure-JS cpu backend; the native
 * bindings (tfjs-node, tfjs-node-gpu) train with TF.js itself.
 */
export function chooseMlpEngine(
  tfjsBackend: string,
  requested: 'auto' | MlpEngine = 'auto',
): MlpEngine {
  if (requested !== 'auto') return requested;
  return tfjsBackend === 'wasm' || tfjsBackend === 'cpu' ? 'onnxruntime' : 'tfjs';
}

/** What an MLP job records as its backend: the TF.js backend, or 'onnxruntime'. */
export type MlpBackendName = TfjsBackendName | 'onnxruntime';

export function mlpBackendName(tfjsBackend: TfjsBackendName, engine: MlpEngine): MlpBackendName {
  return engine === 'onnxruntime' ? 'onnxruntime' : tfjsBackend;
}

export interface EpochProgress {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  valAccuracy?: number;
  accuracy?: number;
}

/**
 * Why training ended: every epoch ran, the watched loss reached `targetLoss`, or it stopped
 * improving for `earlyStoppingPatience` epochs.
 */
export type MlpStopReason = 'epochs' | 'targetLoss' | 'earlyStopping';

export interface TrainedMlp {
  model: tf.Sequential;
  layers: DenseLayerWeights[];
  epochsRun: number;
  stoppedBy: MlpStopReason;
  engine: MlpEngine;
  /** Raw network outputs (softmax probabilities, or scaled regression outputs) per row. */
  predict(rows: readonly Float32Array[]): Float32Array[];
}

export interface TfjsArtifact {
  modelJson: string;
  weights: Uint8Array;
}

/**
 * Rows as one row-major matrix: a view when they already lie back to back in one buffer (as
 * Preprocessor.transformAll hands them over), else a copy.
 */
export function rowMatrix(rows: readonly Float32Array[], width: number): Float32Array {
  const first = rows[0];
  let contiguous = first !== undefined;
  for (let i = 0; contiguous && i < rows.length; i += 1) {
    const row = rows[i];
    contiguous =
      row.length === width &&
      row.buffer === first.buffer &&
      row.byteOffset === first.byteOffset + i * width * 4;
  }
  if (contiguous) return new Float32Array(first.buffer, first.byteOffset, rows.length * width);
  const flat = new Float32Array(rows.length * width);
  rows.forEach((row, i) => flat.set(row, i * width));
  return flat;
}

function optimizerFor(h: MlpHyperparameters): tf.Optimizer {
  switch (h.optimizer) {
    case 'sgd':
      return tf.train.sgd(h.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(h.learningRate);
    case 'adagrad':
      return tf.train.adagrad(h.learningRate);
    default:
      return tf.train.adam(h.learningRate);
  }
}

/**
 * A TF.js layers Sequential: Dense hidden layers (with dropout), softmax output for k classes
 * or one linear output for regression (targets already scaled by the caller).
 */
export async function trainMlp(options: {
  x: readonly Float32Array[];
  /** Class indices (classification) or scaled targets (regression). */
  y: readonly number[];
  width: number;
  classCount: number | null;
  hyperparameters: MlpHyperparameters;
  onEpoch?: (progress: EpochProgress) => void | Promise<void>;
  shouldStop?: () => boolean;
  /** Default: {@link chooseMlpEngine} for the active TF.js backend. */
  engine?: 'auto' | MlpEngine;
  /** ONNX Runtime engine only: intra-op threads (default: the cores available). */
  threads?: number;
}): Promise<TrainedMlp> {
  const h = options.hyperparameters;
  const classification = options.classCount !== null;
  const model = tf.sequential();
  h.hiddenLayers.forEach((units, index) => {
    model.add(
      tf.layers.dense({
        units,
        activation: h.activation,
        ...(index === 0 && { inputShape: [options.width] }),
        kernelInitializer: tf.initializers.glorotUniform({ seed: h.seed + index }),
      }),
    );
    if (h.dropout > 0) model.add(tf.layers.dropout({ rate: h.dropout, seed: h.seed + index }));
  });
  model.add(
    tf.layers.dense({
      units: classification ? options.classCount! : 1,
      activation: classification ? 'softmax' : 'linear',
      ...(h.hiddenLayers.length === 0 && { inputShape: [options.width] }),
      kernelInitializer: tf.initializers.glorotUniform({ seed: h.seed + 1000 }),
    }),
  );
  model.compile({
    optimizer: optimizerFor(h),
    loss: classification ? 'categoricalCrossentropy' : 'meanSquaredError',
    metrics: classification ? ['accuracy'] : [],
  });

  const n = options.x.length;
  const validationSplit = n * h.validationSplit >= 1 ? h.validationSplit : 0;
  const outputs = classification ? options.classCount! : 1;
  const flatX = rowMatrix(options.x, options.width);
  const flatY = new Float32Array(n * outputs);
  options.y.forEach((value, i) => {
    if (classification) flatY[i * outputs + value] = 1;
    else flatY[i] = value;
  });
  let epochsRun = 0;
  let reachedTarget = false;
  // Every engine calls this after each epoch and stops when it answers true.
  const report = async (epoch: number, logs: tf.Logs | undefined): Promise<boolean> => {
    epochsRun = epoch + 1;
    const entry: EpochProgress = { epoch: epoch + 1, epochs: h.epochs, loss: Number(logs?.loss) };
    if (logs?.acc !== undefined) entry.accuracy = Number(logs.acc);
    if (logs?.val_loss !== undefined) entry.valLoss = Number(logs.val_loss);
    if (logs?.val_acc !== undefined) entry.valAccuracy = Number(logs.val_acc);
    await options.onEpoch?.(entry);
    if (h.targetLoss !== undefined && (entry.valLoss ?? entry.loss) <= h.targetLoss) {
      reachedTarget = true;
      return true;
    }
    return options.shouldStop?.() ?? false;
  };

  const engine = chooseMlpEngine(tf.getBackend(), options.engine);
  const dense = model.layers.filter((layer) => layer.getClassName() === 'Dense');
  if (engine === 'onnxruntime') {
    const initial = dense.map((layer) => {
      const [kernel, bias] = layer.getWeights();
      return { kernel: kernel.dataSync() as Float32Array, bias: bias.dataSync() as Float32Array };
    });
    const fitted = await fitDenseWithOnnxRuntime({
      net: {
        sizes: [options.width, ...h.hiddenLayers, outputs],
        activation: h.activation,
        dropout: h.dropout,
        classification,
        optimizer: h.optimizer,
        learningRate: h.learningRate,
        seed: h.seed,
      },
      initial,
      x: flatX,
      y: flatY,
      rows: n,
      epochs: h.epochs,
      batchSize: Math.min(h.batchSize, n),
      validationSplit,
      patience: h.earlyStoppingPatience,
      threads: options.threads,
      shouldStop: options.shouldStop,
      onEpochEnd: (epoch, logs) => report(epoch, logs as unknown as tf.Logs),
    });
    epochsRun = fitted.epochsRun;
    fitted.layers.forEach((layer, i) => {
      const kernel = tf.tensor2d(layer.kernel, [layer.inputs, layer.outputs]);
      const bias = tf.tensor1d(layer.bias);
      dense[i].setWeights([kernel, bias]);
      kernel.dispose();
      bias.dispose();
    });
  } else if (canBackpropManually(h.activation, h.dropout)) {
    epochsRun = await fitDenseManually({
      model,
      optimizer: model.optimizer,
      x: flatX,
      y: flatY,
      rows: n,
      width: options.width,
      outputs,
      classification,
      activation: h.activation,
      epochs: h.epochs,
      batchSize: Math.min(h.batchSize, n),
      validationSplit,
      patience: h.earlyStoppingPatience,
      seed: h.seed,
      onEpochEnd: (epoch, logs) => report(epoch, logs as unknown as tf.Logs),
    });
  } else {
    const xs = tf.tensor2d(flatX, [n, options.width]);
    const ys = tf.tensor2d(flatY, [n, outputs]);
    const callbacks: (tf.CustomCallback | ReturnType<typeof tf.callbacks.earlyStopping>)[] = [
      new tf.CustomCallback({
        onEpochEnd: async (epoch, logs) => {
          if (await report(epoch, logs)) model.stopTraining = true;
        },
      }),
    ];
    if (h.earlyStoppingPatience > 0) {
      callbacks.push(
        tf.callbacks.earlyStopping({
          monitor: validationSplit > 0 ? 'val_loss' : 'loss',
          patience: h.earlyStoppingPatience,
        }),
      );
    }
    try {
      await model.fit(xs, ys, {
        epochs: h.epochs,
        batchSize: Math.min(h.batchSize, n),
        validationSplit,
        shuffle: true,
        verbose: 0,
        callbacks,
      });
    } finally {
      xs.dispose();
      ys.dispose();
    }
  }

  const layers: DenseLayerWeights[] = dense.map((layer) => {
    const [kernel, bias] = layer.getWeights();
    const [inputs, outputs] = kernel.shape;
    return {
      kernel: kernel.dataSync() as Float32Array,
      bias: bias.dataSync() as Float32Array,
      inputs,
      outputs,
    };
  });

  const stoppedBy: MlpStopReason = reachedTarget
    ? 'targetLoss'
    : epochsRun < h.epochs && !options.shouldStop?.()
      ? 'earlyStopping'
      : 'epochs';

  return {
    model,
    layers,
    epochsRun,
    stoppedBy,
    engine,
    predict(rows) {
      if (rows.length === 0) return [];
      const input = tf.tensor2d(rowMatrix(rows, options.width), [rows.length, options.width]);
      const output = model.predict(input) as tf.Tensor;
      const values = output.dataSync() as Float32Array;
      const width = output.shape[1] ?? 1;
      input.dispose();
      output.dispose();
      return rows.map((_, i) => values.slice(i * width, (i + 1) * width));
    },
  };
}

/** The layers model as TF.js's own model.json + weights.bin pair. */
export async function saveTfjsArtifact(model: tf.Sequential): Promise<TfjsArtifact> {
  let artifact: TfjsArtifact | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const buffer = Array.isArray(data)
        ? tf.io.concatenateArrayBuffers(data)
        : ((data as ArrayBuffer | undefined) ?? new ArrayBuffer(0));
      artifact = {
        modelJson: JSON.stringify({
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
        weights: new Uint8Array(buffer),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return artifact!;
}
