// The serving benchmarks' model, onnxruntime's own cost of it, and request bodies: an MLP 784-256-256-10 (ReLU between layers,
// seeded), and Open Inference Protocol bodies of `rows` of 784 FP32 values for its `input`, as
// JSON or as JSON header + binary tensor data.
import * as ort from 'onnxruntime-node';
import { ortSessionOptions } from '@maas/model-registry';
import { buildMlpModel, randomMlp } from '@maas/onnx';
import { processNanos } from '../thread-cpu.mjs';

/** The ONNX bytes of the benchmarks' MLP (the same weights every time). */
export const benchMlp = () =>
  buildMlpModel({
    layers: randomMlp([784, 256, 256, 10], 7).map((layer, i, all) => ({
      ...layer,
      activation: i === all.length - 1 ? 'none' : 'relu',
    })),
  });

export const jsonBody = (rows) =>
  JSON.stringify({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 784], data: rows.flat() }],
  });

/**
 * onnxruntime's own CPU per call of `onnx` at `batch` rows of 784, with the worker's session
 * options (one intra-op thread, no spinning: ortSessionOptions), in this process, over
 * `seconds`: what the 32-row target compares the platform's other CPU per request with.
 */
export async function ortOwnCpu(onnx, batch, seconds) {
  const session = await ort.InferenceSession.create(onnx, ortSessionOptions({ intraOpThreads: 1 }));
  const feed = new ort.Tensor('float32', Float32Array.from({ length: 784 * batch }, Math.random), [
    batch,
    784,
  ]);
  for (let i = 0; i < 50; i++) await session.run({ input: feed });
  const before = processNanos(process.pid);
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  while (performance.now() < end) {
    await session.run({ input: feed });
    calls++;
  }
  const cpuUs = (processNanos(process.pid) - before) / 1000 / calls;
  await session.release();
  return { 'calls/s': Math.round(calls / seconds), 'CPU µs/call': Math.round(cpuUs) };
}

export function binaryBody(rows) {
  const data = Float32Array.from(rows.flat());
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'input',
          datatype: 'FP32',
          shape: [rows.length, 784],
          parameters: { binary_data_size: data.byteLength },
        },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  return { body: Buffer.concat([header, Buffer.from(data.buffer)]), headerLength: header.length };
}

/**
 * One inference request to the bench model over an undici Pool, its answer read whole (as a
 * client would); resolves with the answer's status.
 */
export async function inferOnce(pool, headers, body) {
  const response = await pool.request({
    method: 'POST',
    path: '/v2/models/mlp/infer',
    headers,
    body,
  });
  await response.body.arrayBuffer();
  return response.statusCode;
}
