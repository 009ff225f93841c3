import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '@maas/onnx';
import { activateTfjsBackend } from '@maas/tfjs-runtime';
import type { MlpHyperparameters } from '../job-spec/job-spec.js';
import { Preprocessor } from '../preprocessing/preprocessor.js';
import { type EpochProgress, type MlpEngine, rowMatrix, trainMlp } from './mlp-trainer.js';

/** Rows in [-1, 1]; three classes from a fixed linear rule, or a smooth regression target. */
function dataset(rows: number, width: number, seed: number) {
  const random = seededRandom(seed);
  const x = Array.from({ length: rows }, () =>
    Float32Array.from({ length: width }, () => random() * 2 - 1),
  );
  const score = (row: Float32Array) => row.reduce((sum, v, j) => sum + v * ((j % 3) - 1), 0);
  const classes = x.map((row) => {
    const s = score(row);
    return s < -0.3 ? 0 : s < 0.3 ? 1 : 2;
  });
  const targets = x.map((row) => Math.sin(score(row)) + 0.5 * row[0]);
  return { x, classes, targets };
}

const base: MlpHyperparameters = {
  hiddenLayers: [12, 7],
  activation: 'relu',
  dropout: 0,
  optimizer: 'adam',
  learningRate: 0.01,
  epochs: 3,
  batchSize: 32,
  validationSplit: 0,
  earlyStoppingPatience: 0,
  testSplit: 0.2,
  seed: 11,
};

async function train(
  engine: MlpEngine,
  h: Partial<MlpHyperparameters>,
  task: 'classification' | 'regression' = 'classification',
) {
  const { x, classes, targets } = dataset(150, 5, 3);
  const progress: EpochProgress[] = [];
  const trained = await trainMlp({
    x,
    y: task === 'classification' ? classes : targets,
    width: 5,
    classCount: task === 'classification' ? 3 : null,
    hyperparameters: { ...base, ...h },
    engine,
    onEpoch: (p) => void progress.push(p),
  });
  const probe = trained.predict(x.slice(0, 20));
  trained.model.dispose();
  return { trained, progress, probe };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Same initial weights and batch order: every weight, loss and output agrees closely. */
async function expectSameTraining(
  h: Partial<MlpHyperparameters>,
  task: 'classification' | 'regression' = 'classification',
  tolerance = 5e-5,
) {
  const reference = await train('tfjs', h, task);
  const onnx = await train('onnxruntime', h, task);
  expect(onnx.trained.engine).toBe('onnxruntime');
  expect(reference.trained.engine).toBe('tfjs');
  expect(onnx.trained.epochsRun).toBe(reference.trained.epochsRun);
  onnx.trained.layers.forEach((layer, i) => {
    const want = reference.trained.layers[i];
    expect(maxAbsDiff(layer.kernel, want.kernel)).toBeLessThan(tolerance);
    expect(maxAbsDiff(layer.bias, want.bias)).toBeLessThan(tolerance);
  });
  // The trained network moved away from its initialisation.
  const untrained = await train('onnxruntime', { ...h, epochs: 1, learningRate: 1e-9 }, task);
  expect(
    maxAbsDiff(onnx.trained.layers[0].kernel, untrained.trained.layers[0].kernel),
  ).toBeGreaterThan(10 * tolerance);
  expect(onnx.progress.map((p) => p.epoch)).toEqual(reference.progress.map((p) => p.epoch));
  onnx.progress.forEach((p, i) => {
    const want = reference.progress[i];
    expect(Math.abs(p.loss - want.loss)).toBeLessThan(tolerance);
    if (want.accuracy !== undefined) expect(p.accuracy).toBeCloseTo(want.accuracy, 5);
    if (want.valLoss !== undefined)
      expect(Math.abs(p.valLoss! - want.valLoss)).toBeLessThan(tolerance);
    if (want.valAccuracy !== undefined) expect(p.valAccuracy).toBeCloseTo(want.valAccuracy, 5);
  });
  onnx.probe.forEach((row, i) =>
    expect(maxAbsDiff(row, reference.probe[i])).toBeLessThan(tolerance),
  );
  return onnx;
}

describe('ONNX Runtime training engine = the TF.js trainer', () => {
  beforeAll(async () => {
    await activateTfjsBackend('wasm');
  });

  for (const optimizer of ['adam', 'sgd', 'rmsprop', 'adagrad'] as const) {
    it(`takes the same ${optimizer} steps from the same initial weights`, async () => {
      const onnx = await expectSameTraining({ optimizer });
      expect(onnx.progress).toHaveLength(3);
    });
  }

  for (const activation of ['tanh', 'sigmoid', 'linear'] as const) {
    it(`backpropagates ${activation} like TF.js`, async () => {
      await expectSameTraining({ activation, batchSize: 16 });
    });
  }

  // TF.js trains these with model.fit, which shuffles with Math.random: one full batch per
  // epoch makes the step independent of the row order.
  for (const activation of ['elu', 'selu', 'softplus'] as const) {
    it(`backpropagates ${activation} like TF.js model.fit`, async () => {
      await expectSameTraining({ activation, batchSize: 150, epochs: 4 });
    });
  }

  it('regresses with mean squared error like TF.js, a partial last batch included', async () => {
    await expectSameTraining({ activation: 'tanh', batchSize: 40 }, 'regression');
  });

  it('reports the same validation loss and accuracy and stops early at the same epoch', async () => {
    const onnx = await expectSameTraining({
      validationSplit: 0.2,
      epochs: 30,
      learningRate: 0.05,
      earlyStoppingPatience: 2,
    });
    expect(onnx.progress[0]).toHaveProperty('valLoss');
    expect(onnx.progress[0]).toHaveProperty('valAccuracy');
  });

  it('trains with inverted dropout, reproducibly for a seed', async () => {
    const h = { dropout: 0.3, epochs: 40, learningRate: 0.02, validationSplit: 0.2 };
    const first = await train('onnxruntime', h);
    const again = await train('onnxruntime', h);
    const without = await train('onnxruntime', { ...h, dropout: 0 });
    expect(maxAbsDiff(first.trained.layers[0].kernel, again.trained.layers[0].kernel)).toBe(0);
    expect(
      maxAbsDiff(first.trained.layers[0].kernel, without.trained.layers[0].kernel),
    ).toBeGreaterThan(1e-3);
    const last = first.progress.at(-1)!;
    expect(last.loss).toBeLessThan(first.progress[0].loss);
    expect(last.valAccuracy).toBeGreaterThan(0.8);
  });

  it('stops mid-epoch, between chunks of steps, when asked', async () => {
    const { x, classes } = dataset(150, 5, 3);
    const progress: EpochProgress[] = [];
    let asked = 0;
    const trained = await trainMlp({
      x,
      y: classes,
      width: 5,
      classCount: 3,
      hyperparameters: { ...base, epochs: 50 },
      engine: 'onnxruntime',
      onEpoch: (p) => void progress.push(p),
      // 150 rows at batch 32: four full batches in one chunk, then the short one; stop before it.
      shouldStop: () => ++asked >= 2,
    });
    expect(trained.epochsRun).toBe(0);
    expect(progress).toEqual([]);
    trained.model.dispose();
  });
});

describe('rowMatrix', () => {
  it("uses the preprocessor's rows in place and copies rows that are not back to back", () => {
    const pre = Preprocessor.fit(
      [
        ['1', 'a'],
        ['3', 'b'],
      ],
      [
        { name: 'n', type: 'numeric' },
        { name: 'c', type: 'categorical' },
      ],
      { standardize: true },
    );
    const rows = pre.transformAll([
      ['1', 'b'],
      ['3', 'a'],
      ['', 'z'],
    ]);
    expect(rows.map((row) => Array.from(row))).toEqual([
      [-1, 0, 1],
      [1, 1, 0],
      [0, 0, 0],
    ]);
    const matrix = rowMatrix(rows, 3);
    expect(Array.from(matrix)).toEqual([-1, 0, 1, 1, 1, 0, 0, 0, 0]);
    expect(matrix.buffer).toBe(rows[0].buffer);

    const separate = [Float32Array.of(1, 2), Float32Array.of(3, 4)];
    const copied = rowMatrix(separate, 2);
    expect(Array.from(copied)).toEqual([1, 2, 3, 4]);
    expect(copied.buffer).not.toBe(separate[0].buffer);
    // Out of order views of one buffer are copied in row order.
    const reversed = rowMatrix([rows[1], rows[0]], 3);
    expect(Array.from(reversed)).toEqual([1, 1, 0, -1, 0, 1]);
  });
});
