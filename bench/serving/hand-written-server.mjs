// The baseline a user would write by hand: Fastify + onnxruntime-node, one run per request.
// Usage: node hand-written-server.mjs <model.onnx> <port> [strong|naive]
//
// strong (the reference for every ratio): what a careful engineer writes for a small model on a
// small machine: one intra-op and one inter-op thread with spinning off (onnxruntime's default
// pool spins its threads between runs, which on two cores costs ~1.3 ms of CPU per request),
// and the body read with plain JSON.parse. naive: onnxruntime's and Fastify's defaults.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';

const [modelPath, port, variant = 'strong'] = process.argv.slice(2);
const strong = variant === 'strong';
const session = await ort.InferenceSession.create(
  readFileSync(modelPath),
  strong
    ? {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        extra: {
          session: {
            intra_op: { allow_spinning: '0' },
            inter_op: { allow_spinning: '0' },
          },
        },
      }
    : {},
);
const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
if (strong) {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body));
    } catch (error) {
      error.statusCode = 400;
      done(error);
    }
  });
}
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
