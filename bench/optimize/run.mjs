// Model optimisation benchmark (run by hand, not in CI): the MLP 784-256-256-10 in fp32 beside
// its int8 (dynamic and qdq forms), fp16 and magnitude-pruned (50 %, 90 %) versions: file size,
// rows/s at batch 1 and 32, and top-1 agreement with fp32 on seeded inputs. Every session has
// the worker's options with one intra-op thread and no spinning, so the cases compete on
// equal terms; each is timed for `seconds` per batch size after a warm-up.
//
//   node tools/build.mjs libs/onnx libs/model-registry && node bench/optimize/run.mjs [seconds]
import { loadavg } from 'node:os';
import {
  buildMlpModel,
  convertFp16,
  pruneMagnitude,
  quantizeInt8,
  randomMlp,
  seededRandom,
} from '@maas/onnx';
import { measureOutputAgreement, ortSessionOptions } from '@maas/model-registry';
import * as ort from 'onnxruntime-node';

const SECONDS = Number(process.argv[2] ?? 2);
const SIZES = [784, 256, 256, 10];
const fp32 = buildMlpModel({ layers: randomMlp(SIZES, 42) });
const cases = [
  ['fp32', fp32],
  ['int8 dynamic', quantizeInt8(fp32, { form: 'dynamic' }).bytes],
  ['int8 qdq', quantizeInt8(fp32, { form: 'qdq' }).bytes],
  ['fp16', convertFp16(fp32).bytes],
  ['pruned 50 %', pruneMagnitude(fp32, 0.5).bytes],
  ['pruned 90 %', pruneMagnitude(fp32, 0.9).bytes],
];
const options = ortSessionOptions({ intraOpThreads: 1, interOpThreads: 1, allowSpinning: false });

async function rowsPerSecond(session, batch) {
  const random = seededRandom(batch);
  const input = new ort.Tensor('float32', Float32Array.from({ length: batch * SIZES[0] }, random), [
    batch,
    SIZES[0],
  ]);
  for (let i = 0; i < 50; i += 1) await session.run({ input });
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    await session.run({ input });
    runs += 1;
  }
  return (runs * batch) / ((performance.now() - start) / 1000);
}

const results = [];
for (const [name, bytes] of cases) {
  const session = await ort.InferenceSession.create(Buffer.from(bytes), options);
  const batch1 = await rowsPerSecond(session, 1);
  const batch32 = await rowsPerSecond(session, 32);
  await session.release();
  const agreement = await measureOutputAgreement(fp32, bytes, { samples: 1000, seed: 7 });
  const [output] = agreement.outputs;
  results.push({ name, bytes: bytes.byteLength, batch1, batch32, output });
}

const base = results[0];
const ratio = (value, reference) => `${(value / reference).toFixed(2)}×`;
const rows = results.map((r) => [
  r.name,
  `${(r.bytes / 1024).toFixed(0)} KiB (${ratio(r.bytes, base.bytes)})`,
  `${Math.round(r.batch1)} (${ratio(r.batch1, base.batch1)})`,
  `${Math.round(r.batch32)} (${ratio(r.batch32, base.batch32)})`,
  `${(100 * r.output.top1Agreement).toFixed(1)} %`,
  r.output.maxAbsError.toExponential(1),
]);
const header = ['model', 'size', 'rows/s batch 1', 'rows/s batch 32', 'top-1 vs fp32', 'max |Δp|'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(
  `MLP ${SIZES.join('-')}, onnxruntime-node ${ort.env.versions.node}, 1 intra-op thread, ${SECONDS} s per figure, 1000 agreement rows`,
);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
