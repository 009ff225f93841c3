import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '@maas/onnx';
import type { MlpActivationName } from '../job-spec/job-spec.js';

/** Activations whose derivative the explicit backward pass knows. */
const SUPPORTED: readonly MlpActivationName[] = ['relu', 'tanh', 'sigmoid', 'linear'];

export function canBackpropManually(activation: MlpActivationName, dropout: number): boolean {
  return SUPPORTED.includes(activation) && dropout === 0;
}

export interface ManualFitLogs {
  loss: number;
  acc?: number;
  val_loss?: number;
  val_acc?: number;
}

/**
 * Keras-style early stopping on val_loss (loss without a validation split): true once it has
 * not improved for `patience` epochs in a row. Patience 0 never stops.
 */
export function earlyStopping(patience: number): (logs: ManualFitLogs) => boolean {
  let best = Infinity;
  let sinceBest = 0;
  return (logs) => {
    if (patience <= 0) return false;
    const watched = logs.val_loss ?? logs.loss;
    if (watched < best) {
      best = watched;
      sinceBest = 0;
      return false;
    }
    return ++sinceBest >= patience;
  };
}

/**
 * Trains a Sequential of Dense layers with an explicit forward and backward pass and the
 * model's own optimizer. Same network, loss and update as model.fit, but every matrix product
 * is a plain A·B: TF.js's wasm kernels run transposed products (the ones autograd emits for
 * Dense gradients) an order of magnitude slower, and gathering batch rows from a big tensor is
 * slow too, so batches are assembled in JS instead.
 */
export async function fitDenseManually(options: {
  model: tf.Sequential;
  optimizer: tf.Optimizer;
  x: Float32Array;
  /** One-hot rows (classification) or targets [n, 1]. */
  y: Float32Array;
  rows: number;
  width: number;
  outputs: number;
  classification: boolean;
  activation: MlpActivationName;
  epochs: number;
  batchSize: number;
  validationSplit: number;
  patience: number;
  seed: number;
  onEpochEnd: (epoch: number, logs: ManualFitLogs) => Promise<boolean>;
}): Promise<number> {
  const { model, width, outputs } = options;
  const dense = model.layers.filter((layer) => layer.getClassName() === 'Dense');
  const variables = dense.flatMap((layer) =>
    layer.trainableWeights.map((weight) => weight.read() as tf.Variable),
  );
  const nVal = options.validationSplit > 0 ? Math.floor(options.rows * options.validationSplit) : 0;
  const nTrain = options.rows - nVal;
  // Like model.fit, the validation rows are the last ones.
  const xVal = nVal > 0 ? tf.tensor2d(options.x.subarray(nTrain * width), [nVal, width]) : null;
  const yVal = nVal > 0 ? tf.tensor2d(options.y.subarray(nTrain * outputs), [nVal, outputs]) : null;
  const random = seededRandom(options.seed);
  const order = Int32Array.from({ length: nTrain }, (_, i) => i);
  const batchX = new Float32Array(options.batchSize * width);
  const batchY = new Float32Array(options.batchSize * outputs);

  const activate = (z: tf.Tensor2D): tf.Tensor2D => {
    switch (options.activation) {
      case 'relu':
        return tf.relu(z);
      case 'tanh':
        return tf.tanh(z);
      case 'sigmoid':
        return tf.sigmoid(z);
      default:
        return z;
    }
  };
  const derivative = (z: tf.Tensor2D, a: tf.Tensor2D): tf.Tensor2D => {
    switch (options.activation) {
      case 'relu':
        return tf.step(z);
      case 'tanh':
        return tf.sub(1, tf.square(a));
      case 'sigmoid':
        return tf.mul(a, tf.sub(1, a));
      default:
        return tf.onesLike(z);
    }
  };
  const forward = (x: tf.Tensor2D) => {
    const zs: tf.Tensor2D[] = [];
    const as: tf.Tensor2D[] = [x];
    let current = x;
    for (let l = 0; l < dense.length; l += 1) {
      const z = tf.add(tf.matMul(current, variables[2 * l]), variables[2 * l + 1]) as tf.Tensor2D;
      zs.push(z);
      const last = l === dense.length - 1;
      current = last ? (options.classification ? tf.softmax(z) : z) : activate(z);
      as.push(current);
    }
    return { zs, as, output: current };
  };
  const lossOf = (output: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar =>
    options.classification
      ? (tf.neg(
          tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(output, 1e-7, 1 - 1e-7))), 1)),
        ) as tf.Scalar)
      : (tf.mean(tf.square(tf.sub(output, y))) as tf.Scalar);
  const accuracyOf = (output: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar =>
    tf.mean(tf.cast(tf.equal(tf.argMax(output, 1), tf.argMax(y, 1)), 'float32')) as tf.Scalar;

  const plateaued = earlyStopping(options.patience);
  let epochsRun = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch += 1) {
      for (let i = nTrain - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      let lossSum = 0;
      let accSum = 0;
      for (let start = 0; start < nTrain; start += options.batchSize) {
        const size = Math.min(options.batchSize, nTrain - start);
        for (let k = 0; k < size; k += 1) {
          const row = order[start + k];
          batchX.set(options.x.subarray(row * width, (row + 1) * width), k * width);
          batchY.set(options.y.subarray(row * outputs, (row + 1) * outputs), k * outputs);
        }
        const [loss, acc] = tf.tidy(() => {
          const x = tf.tensor2d(batchX.subarray(0, size * width), [size, width]);
          const y = tf.tensor2d(batchY.subarray(0, size * outputs), [size, outputs]);
          const { zs, as, output } = forward(x);
          // d(loss)/d(z_last): softmax + cross-entropy and linear + MSE both give (ŷ − y)·c/n.
          let delta = tf.mul(
            tf.sub(output, y),
            options.classification ? 1 / size : 2 / (size * outputs),
          ) as tf.Tensor2D;
          const gradients: { name: string; tensor: tf.Tensor }[] = [];
          for (let l = dense.length - 1; l >= 0; l -= 1) {
            gradients.push(
              { name: variables[2 * l].name, tensor: tf.matMul(tf.transpose(as[l]), delta) },
              { name: variables[2 * l + 1].name, tensor: tf.sum(delta, 0) },
            );
            if (l > 0) {
              const back = tf.matMul(delta, tf.transpose(variables[2 * l])) as tf.Tensor2D;
              delta = tf.mul(back, derivative(zs[l - 1], as[l])) as tf.Tensor2D;
            }
          }
          options.optimizer.applyGradients(gradients);
          return [lossOf(output, y), options.classification ? accuracyOf(output, y) : tf.scalar(0)];
        });
        lossSum += (await loss.data())[0] * size;
        accSum += (await acc.data())[0] * size;
        loss.dispose();
        acc.dispose();
      }
      const logs: ManualFitLogs = { loss: lossSum / nTrain };
      if (options.classification) logs.acc = accSum / nTrain;
      if (xVal && yVal) {
        const [valLoss, valAcc] = tf.tidy(() => {
          const { output } = forward(xVal);
          return [lossOf(output, yVal), accuracyOf(output, yVal)];
        });
        logs.val_loss = (await valLoss.data())[0];
        if (options.classification) logs.val_acc = (await valAcc.data())[0];
        valLoss.dispose();
        valAcc.dispose();
      }
      epochsRun = epoch + 1;
      const stop = await options.onEpochEnd(epoch, logs);
      if (stop || plateaued(logs)) break;
    }
  } finally {
    xVal?.dispose();
    yVal?.dispose();
  }
  return epochsRun;
}
