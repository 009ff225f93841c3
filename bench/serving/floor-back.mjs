// The floor's worker process (bench/serving/floor.mjs): a TCP server reading length-prefixed
// frames, [u32 body length][u32 id][u32 header length] + body, where the body is an Open
// Inference Protocol binary request (JSON header, then FP32 rows of 784). The rows of every
// frame that arrived in one event-loop turn are stacked into one onnxruntime call on a model
// thread (the worker's session options), handed over without a copy, and each frame is
// answered with its rows' outputs: [u32 length][u32 id] + FP32 bytes, written in one writev per
// turn. Nothing else: no decoding beyond the header length, no checks, no metrics, no logs.
//
//   node floor-back.mjs <model.onnx>   (prints its port)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';

const [modelPath] = process.argv.slice(2);
const WIDTH = 784;
const OUTPUTS = 10;
const MODEL_THREAD = `
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
const session = await ort.InferenceSession.create(workerData.model, workerData.options);
parentPort.on('message', async ({ id, data, rows }) => {
  const result = await session.run({ input: new ort.Tensor('float32', data, [rows, ${WIDTH}]) });
  const out = result.output.data;
  parentPort.postMessage({ id, out }, [out.buffer]);
});
parentPort.postMessage('ready');
`;
const thread = new Worker(MODEL_THREAD, {
  eval: true,
  type: 'module',
  workerData: {
    model: readFileSync(modelPath),
    options: {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    },
  },
});
await new Promise((resolve) => thread.once('message', resolve));

const calls = new Map();
let nextCall = 0;
thread.on('message', ({ id, out }) => {
  const call = calls.get(id);
  calls.delete(id);
  let offset = 0;
  for (const { socket, frameId, rows } of call) {
    const answer = Buffer.from(out.buffer, out.byteOffset + offset * 4, rows * OUTPUTS * 4);
    offset += rows * OUTPUTS;
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32LE(answer.length, 0);
    head.writeUInt32LE(frameId, 4);
    send(socket, head, answer);
  }
});

const corked = new Set();
function send(socket, head, body) {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    setImmediate(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  socket.write(head);
  socket.write(body);
}

// Frames of this turn, stacked into one call once the turn's I/O has been read.
let pending = [];
function run() {
  const frames = pending;
  pending = [];
  const rows = frames.reduce((sum, frame) => sum + frame.rows, 0);
  const data = new Float32Array(rows * WIDTH);
  let at = 0;
  for (const frame of frames) {
    data.set(frame.data, at);
    at += frame.data.length;
  }
  const id = nextCall++;
  calls.set(id, frames);
  thread.postMessage({ id, data, rows }, [data.buffer]);
}

createServer((socket) => {
  socket.setNoDelay(true);
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    while (buffered.length >= 12) {
      const length = buffered.readUInt32LE(0);
      if (buffered.length < 12 + length) break;
      const frameId = buffered.readUInt32LE(4);
      const headerLength = buffered.readUInt32LE(8);
      const body = buffered.subarray(12, 12 + length);
      buffered = buffered.subarray(12 + length);
      const bytes = body.subarray(headerLength);
      // A copy of the rows (the platform's stack copies them too).
      const data = new Float32Array(bytes.length / 4);
      Buffer.from(data.buffer).set(bytes);
      if (pending.length === 0) setImmediate(run);
      pending.push({ socket, frameId, rows: data.length / WIDTH, data });
    }
  });
}).listen(0, '127.0.0.1', function () {
  process.stdout.write(`${this.address().port}\n`);
});
