// Training benchmark (run by hand, not in CI): samples/s of the platform's MLP trainer
// (TF.js layers, the trainer's backend choice) on 60k×784 synthetic rows, 784-128-64-10,
// Adam, batch 128, beside the same network and training step written with NumPy.
//
//   node tools/build.mjs libs/onnx libs/training && node bench/training/run.mjs [rows] [epochs] [backend]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '@maas/onnx';
import { activateTfjsBackend, trainMlp } from '@maas/training';

const ROWS = Number(process.argv[2] ?? 60_000);
const EPOCHS = Number(process.argv[3] ?? 1);
const REQUESTED = process.argv[4] ?? 'auto';

const random = seededRandom(7);
const x = Array.from({ length: ROWS }, () => {
  const row = new Float32Array(784);
  for (let j = 0; j < 784; j += 1) row[j] = random();
  return row;
});
const y = Array.from({ length: ROWS }, () => Math.floor(random() * 10));
const hyperparameters = {
  hiddenLayers: [128, 64],
  activation: 'relu',
  dropout: 0,
  optimizer: 'adam',
  learningRate: 0.001,
  epochs: EPOCHS,
  batchSize: 128,
  validationSplit: 0,
  earlyStoppingPatience: 0,
  testSplit: 0.2,
  seed: 1,
};

const backend = await activateTfjsBackend(REQUESTED);
// Warm-up (kernel compilation, allocations) on a slice, not timed.
await trainMlp({
  x: x.slice(0, 1024),
  y: y.slice(0, 1024),
  width: 784,
  classCount: 10,
  hyperparameters: { ...hyperparameters, epochs: 1 },
});
const started = performance.now();
const trained = await trainMlp({ x, y, width: 784, classCount: 10, hyperparameters });
const seconds = (performance.now() - started) / 1000;
trained.model.dispose();
const tfjs = (ROWS * EPOCHS) / seconds;

const env = { ...process.env };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const python = spawnSync(
  'python3',
  [fileURLToPath(new URL('./numpy_mlp.py', import.meta.url)), String(ROWS), String(EPOCHS)],
  { env, encoding: 'utf8' },
);
if (python.status !== 0) throw new Error(`numpy baseline failed: ${python.stderr}`);
const numpy = JSON.parse(python.stdout.trim().split('\n').pop());

console.log(`MLP 784-128-64-10, Adam, batch 128, ${ROWS} rows × ${EPOCHS} epoch(s)`);
console.log(
  `  maas trainer (TF.js backend: ${backend}): ${tfjs.toFixed(0)} samples/s (${seconds.toFixed(2)} s)`,
);
console.log(
  `  NumPy ${numpy.numpy}:                     ${numpy.samplesPerSecond.toFixed(0)} samples/s (${numpy.seconds.toFixed(2)} s)`,
);
console.log(`  ratio: ${(tfjs / numpy.samplesPerSecond).toFixed(2)}× (target ≥ 2×)`);
