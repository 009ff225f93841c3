// The baseline a user would write by hand: Fastify + onnxruntime-node, one run per request.
// Usage: node hand-written-server.mjs <model.onnx> <port>
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';

const [modelPath, port] = process.argv.slice(2);
const session = await ort.InferenceSession.create(readFileSync(modelPath));
const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
app.post('/infer', async (request) => {
  const input = request.body.inputs[0];
  const data = Float32Array.from(input.data.flat(Infinity));
  const result = await session.run({ input: new ort.Tensor('float32', data, input.shape) });
  const output = result.output;
  return {
    outputs: [
      { name: 'output', datatype: 'FP32', shape: output.dims, data: Array.from(output.data) },
    ],
  };
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.stdout.write('ready\n');
