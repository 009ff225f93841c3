import type { MlpHyperparameters } from '../spec/training-spec.js';
import type { DenseLayerWeights } from '../export/onnx-export.js';
import { canBackpropManually, fitDenseManually } from './dense-backprop.js';
import { tf } from './tfjs-runtime.js';

export interface EpochProgress {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  valAccuracy?: number;
  accuracy?: number;
}

export interface TrainedMlp {
  model: tf.Sequential;
  layers: DenseLayerWeights[];
  epochsRun: number;
  /** Raw network outputs (softmax probabilities, or scaled regression outputs) per row. */
  predict(rows: readonly Float32Array[]): Float32Array[];
}

export interface TfjsArtifact {
  modelJson: string;
  weights: Uint8Array;
}

function flatten(rows: readonly Float32Array[], width: number): Float32Array {
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
  const flatX = flatten(options.x, options.width);
  const flatY = new Float32Array(n * outputs);
  options.y.forEach((value, i) => {
    if (classification) flatY[i * outputs + value] = 1;
    else flatY[i] = value;
  });
  let epochsRun = 0;
  const report = async (epoch: number, logs: tf.Logs | undefined): Promise<boolean> => {
    epochsRun = epoch + 1;
    const entry: EpochProgress = { epoch: epoch + 1, epochs: h.epochs, loss: Number(logs?.loss) };
    if (logs?.acc !== undefined) entry.accuracy = Number(logs.acc);
    if (logs?.val_loss !== undefined) entry.valLoss = Number(logs.val_loss);
    if (logs?.val_acc !== undefined) entry.valAccuracy = Number(logs.val_acc);
    await options.onEpoch?.(entry);
    return options.shouldStop?.() ?? false;
  };

  if (canBackpropManually(h.activation, h.dropout)) {
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

  const layers: DenseLayerWeights[] = model.layers
    .filter((layer) => layer.getClassName() === 'Dense')
    .map((layer) => {
      const [kernel, bias] = layer.getWeights();
      const [inputs, outputs] = kernel.shape;
      return {
        kernel: kernel.dataSync() as Float32Array,
        bias: bias.dataSync() as Float32Array,
        inputs,
        outputs,
      };
    });

  return {
    model,
    layers,
    epochsRun,
    predict(rows) {
      if (rows.length === 0) return [];
      const input = tf.tensor2d(flatten(rows, options.width), [rows.length, options.width]);
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
