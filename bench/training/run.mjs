// Training benchmark (run by hand, not in CI): samples/s of the platform's MLP trainer on
// 60k×784 synthetic rows, 784-128-64-10, Adam, batch 128, beside the same network and training
// step written with NumPy, measured in the same run. The trainer line names the engine that ran
// the steps (ONNX Runtime, or TF.js on its backend); the TF.js path is timed once too, for
// reference. The trainer and NumPy each do one untimed run, then train `repeats` times from
// scratch and report the median, so a burst of other work on a shared machine moves the
// figures less; every repeat is printed, with how busy the machine was.
//
//   node tools/build.mjs libs/onnx libs/training && node bench/training/run.mjs [rows] [epochs] [backend] [engine] [repeats]
//
// backend: auto | tensorflow-gpu | tensorflow | wasm | cpu (TF.js); engine: auto | onnxruntime |
// tfjs; repeats: 3.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '@maas/onnx';
import { activateTfjsBackend } from '@maas/tfjs-runtime';
import { chooseMlpEngine, trainMlp } from '@maas/training';

const ROWS = Number(process.argv[2] ?? 60_000);
const EPOCHS = Number(process.argv[3] ?? 1);
const REQUESTED_BACKEND = process.argv[4] ?? 'auto';
const REQUESTED_ENGINE = process.argv[5] ?? 'auto';
const REPEATS = Number(process.argv[6] ?? 3);

const random = seededRandom(7);
// Rows as Preprocessor.transformAll hands them to the trainer: views of one row-major matrix.
const matrix = new Float32Array(ROWS * 784);
for (let i = 0; i < matrix.length; i += 1) matrix[i] = random();
const x = Array.from({ length: ROWS }, (_, i) => matrix.subarray(i * 784, (i + 1) * 784));
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

const backend = await activateTfjsBackend(REQUESTED_BACKEND);

/** CPU ticks (all cores) busy and total, from /proc/stat; null where there is none. */
function cpuTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    const ticks = fields.slice(0, 8).map(Number);
    const idle = ticks[3] + ticks[4];
    const total = ticks.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * Share of the machine's CPU time that other processes used while `work` ran (this process's
 * own time subtracted), so a figure taken while someone else was busy can be told apart.
 */
async function withOtherLoad(work) {
  const before = cpuTicks();
  const own = process.cpuUsage();
  const result = await work();
  const after = cpuTicks();
  if (!before || !after) return { ...result, otherLoad: null };
  const ownUsage = process.cpuUsage(own);
  const tick = 1e6 / 100; // USER_HZ = 100 on Linux: µs per tick
  const ownTicks = (ownUsage.user + ownUsage.system) / tick;
  const total = after.total - before.total;
  const otherLoad = Math.max(0, (after.busy - before.busy - ownTicks) / total);
  return { ...result, otherLoad };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * samples/s of trainMlp on the whole set (median of `repeats`), after one untimed warm-up run
 * (the whole set when `fullWarmUp`, as NumPy gets, else a slice).
 */
async function measure(engine, repeats, fullWarmUp) {
  const warmRows = fullWarmUp ? ROWS : 1024;
  const warm = await trainMlp({
    x: x.slice(0, warmRows),
    y: y.slice(0, warmRows),
    width: 784,
    classCount: 10,
    hyperparameters: { ...hyperparameters, epochs: 1 },
    engine,
  });
  warm.model.dispose();
  let loss = NaN;
  let trainedOn = engine;
  return withOtherLoad(async () => {
    const times = [];
    for (let repeat = 0; repeat < repeats; repeat += 1) {
      const started = performance.now();
      const trained = await trainMlp({
        x,
        y,
        width: 784,
        classCount: 10,
        hyperparameters,
        engine,
        onEpoch: (progress) => void (loss = progress.loss),
      });
      times.push((performance.now() - started) / 1000);
      trainedOn = trained.engine;
      trained.model.dispose();
    }
    const runs = times.map((seconds) => (ROWS * EPOCHS) / seconds);
    return {
      engine: trainedOn,
      seconds: median(times),
      samplesPerSecond: median(runs),
      runs,
      loss,
    };
  });
}

const engine = chooseMlpEngine(backend, REQUESTED_ENGINE);
const trainer = await measure(engine, REPEATS, true);
// Reference only, so one short warm-up and one run (it takes seconds).
const tfjs = engine === 'tfjs' ? null : await measure('tfjs', 1, false);

const env = { ...process.env };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const pythonBefore = cpuTicks();
const python = spawnSync(
  'python3',
  [
    fileURLToPath(new URL('./numpy_mlp.py', import.meta.url)),
    String(ROWS),
    String(EPOCHS),
    String(REPEATS),
  ],
  { env, encoding: 'utf8' },
);
if (python.status !== 0) throw new Error(`numpy baseline failed: ${python.stderr}`);
const pythonAfter = cpuTicks();
const numpy = JSON.parse(python.stdout.trim().split('\n').pop());
// The child's own CPU time is not known here; report how busy the whole machine was instead.
numpy.machineBusy =
  pythonBefore && pythonAfter
    ? (pythonAfter.busy - pythonBefore.busy) / (pythonAfter.total - pythonBefore.total)
    : null;

const engineName = (name) =>
  name === 'onnxruntime'
    ? `ONNX Runtime CPU engine, ${availableParallelism()} threads`
    : `TF.js, ${backend} backend`;
const percent = (share) => `${(100 * share).toFixed(0)}%`;
const each = (result) =>
  (result.runs.length > 1 ? `; runs ${result.runs.map((r) => r.toFixed(0)).join(', ')}` : '') +
  (result.otherLoad != null ? `; other processes ${percent(result.otherLoad)} of the CPUs` : '') +
  (result.machineBusy != null ? `; machine ${percent(result.machineBusy)} busy` : '');
const line = (label, result) =>
  `  ${label.padEnd(52)} ${result.samplesPerSecond.toFixed(0).padStart(6)} samples/s (${result.seconds.toFixed(2)} s, final loss ${result.loss.toFixed(4)}${each(result)})`;
console.log(
  `MLP 784-128-64-10, Adam, batch 128, ${ROWS} rows × ${EPOCHS} epoch(s); median of ${REPEATS}`,
);
console.log(`  CPU: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`);
console.log(line(`maas trainer (${engineName(trainer.engine)}):`, trainer));
if (tfjs) console.log(line(`maas trainer, TF.js path (${engineName('tfjs')}):`, tfjs));
console.log(
  `  ${`NumPy ${numpy.numpy} (same step, float32):`.padEnd(52)} ${numpy.samplesPerSecond.toFixed(0).padStart(6)} samples/s (${numpy.seconds.toFixed(2)} s${each(numpy)})`,
);
console.log(
  `  ratio, trainer (${trainer.engine}) / NumPy: ${(trainer.samplesPerSecond / numpy.samplesPerSecond).toFixed(2)}× (target ≥ 2×)`,
);
