// The worker link against the standard transports (issue 16: "measure it against node:http2 and
// plain HTTP/1.1 keep-alive in the same run"). This process plays the gateway, a child process
// the worker; the same inference requests cross each transport in turn, in the same run:
//   - link: the gateway's WorkerLinkClient and the worker's WorkerLinkServer, as shipped (one
//     multiplexed TCP connection per worker, authenticated once by its handshake);
//   - HTTP/1.1: undici's Agent with the gateway's settings (keep-alive, up to 256 connections)
//     to a bare node:http server;
//   - HTTP/2: one node:http2 session (h2c, multiplexed) to a bare node:http2 server (core API),
//     its flow-control windows raised on both sides (the defaults, 64 KiB, throttle large bodies).
// The HTTP servers are as lean as such a worker could be (no framework); like the worker's HTTP
// routes they verify each request's HMAC signature, which the link does once per connection.
// Behind every transport the worker's answer is the same fixed one (what is measured is the
// transport, not the model). Prints req/s and CPU µs per request of each side (this process
// includes the load loop, the same for all), and each transport's total against the link's.
//
//   node tools/build.mjs && node bench/link/run.mjs [seconds per run = 3] [rounds = 2]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import http2 from 'node:http2';
import { Agent } from 'undici';
import { Registry } from 'prom-client';
import { createLogger } from '@maas/app-runtime';
import { SIGNATURE_HEADER, signWorkerRequest, verifyWorkerRequest } from '@maas/worker-link';

const H2_SETTINGS = { maxConcurrentStreams: 1000, initialWindowSize: 16 * 1024 * 1024 };
const H2_CONNECTION_WINDOW = 256 * 1024 * 1024;
const SECRET = 'bench-link-secret-0123456789abcdef';
const PATH = '/v2/models/m/versions/1/infer';
const rowsOf = (n) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: 784 }, (_, j) => ((i + j) % 7) / 7));

/** A KServe v2 binary request (inputs after a JSON header) of `rows` × 784 float32. */
function binaryRequest(rows) {
  const data = Float32Array.from(rowsOf(rows).flat());
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'input',
          datatype: 'FP32',
          shape: [rows, 784],
          parameters: { binary_data_size: data.byteLength },
        },
      ],
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.from(data.buffer)]),
    headerLength: String(header.length),
  };
}

const SCENARIOS = {
  'JSON 1 row': {
    body: Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: rowsOf(1)[0] }],
      }),
    ),
    answer: Buffer.from(
      JSON.stringify({
        model_name: 'm',
        model_version: '1',
        outputs: [
          {
            name: 'out',
            datatype: 'FP32',
            shape: [1, 10],
            data: Array.from({ length: 10 }, (_, i) => i / 10),
          },
        ],
      }),
    ),
  },
  'binary 32 rows': {
    ...binaryRequest(32),
    answer: Buffer.alloc(32 * 10 * 4 + 120, 1),
  },
};

if (process.argv[2] === '--worker') {
  // The worker's side: the three servers, one answer per scenario (chosen by body size).
  const { WorkerLinkServer } = await import('../../apps/inference/dist/inference/link-server.js');
  const { InferenceMetrics } =
    await import('../../apps/inference/dist/inference/inference.metrics.js');
  const answerFor = (body) =>
    (body.length > 50_000 ? SCENARIOS['binary 32 rows'] : SCENARIOS['JSON 1 row']).answer;
  const inference = {
    infer: async (_tenant, _model, _version, body) => ({
      contentType: 'application/json',
      body: answerFor(body),
      rows: 1,
    }),
  };
  inference.predict = inference.infer;
  const logger = createLogger({ name: 'inference', level: 'info' });
  const link = new WorkerLinkServer(
    { LINK_PORT: 0, HOST: '127.0.0.1', WORKER_SECRET: SECRET },
    logger,
    inference,
    new InferenceMetrics(new Registry()),
  );
  await link.onModuleInit();
  const verified = (headers, method, path) =>
    verifyWorkerRequest(SECRET, headers[SIGNATURE_HEADER], {
      method,
      path,
      requestId: headers['x-request-id'] ?? '',
      tenant: headers['x-maas-tenant-id'] ?? '',
    }) === 'ok';
  const h1 = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    if (!verified(req.headers, req.method, req.url)) return void res.writeHead(401).end();
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const served = await inference.infer('t', 'm', 1, Buffer.concat(chunks));
      res.writeHead(200, {
        'content-type': served.contentType,
        'content-length': served.body.length,
        'x-maas-rows': String(served.rows),
      });
      res.end(served.body);
    });
  });
  // Tuned as a careful engineer would: flow-control windows far above the bodies in flight
  // (HTTP/2's default 64 KiB per stream and per connection throttles 100 KB bodies).
  const h2 = http2.createServer({ settings: H2_SETTINGS });
  h2.on('session', (session) => session.setLocalWindowSize(H2_CONNECTION_WINDOW));
  h2.on('stream', (stream, headers) => {
    if (!verified(headers, headers[':method'], headers[':path']))
      return void stream.respond({ ':status': 401 }, { endStream: true });
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', async () => {
      const served = await inference.infer('t', 'm', 1, Buffer.concat(chunks));
      stream.respond({
        ':status': 200,
        'content-type': served.contentType,
        'content-length': served.body.length,
        'x-maas-rows': String(served.rows),
      });
      stream.end(served.body);
    });
  });
  const listen = (server) =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
  process.send({ link: link.port, h1: await listen(h1), h2: await listen(h2) });
} else {
  const seconds = Number(process.argv[2] ?? 3);
  const rounds = Number(process.argv[3] ?? 2);
  const worker = fork(new URL(import.meta.url).pathname, ['--worker'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ports = await new Promise((resolve) => worker.once('message', resolve));
  const { WorkerLinkClient } =
    await import('../../apps/gateway/dist/inference/worker-link.client.js');
  const logger = createLogger({ name: 'gateway', level: 'warn' });
  const linkClient = new WorkerLinkClient(
    { WORKER_SECRET: SECRET, INFERENCE_TIMEOUT_MS: 30_000 },
    logger,
  );
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    connections: 256,
    connect: { timeout: 2000 },
  });
  const session = http2.connect(`http://127.0.0.1:${ports.h2}`, { settings: H2_SETTINGS });
  await new Promise((resolve, reject) => session.once('connect', resolve).once('error', reject));
  session.setLocalWindowSize(H2_CONNECTION_WINDOW);
  let sequence = 0;
  const signed = (requestId) =>
    signWorkerRequest(SECRET, { method: 'POST', path: PATH, requestId, tenant: 't' });
  const transports = {
    link: async ({ body, headerLength }) => {
      const requestId = String(++sequence);
      const { meta, body: answer } = await linkClient.request(
        `127.0.0.1:${ports.link}`,
        'infer',
        { tenant: 't', model: 'm', version: 1, requestId, ...(headerLength && { headerLength }) },
        body,
      );
      return [meta.status, answer.length];
    },
    'HTTP/1.1': async ({ body, headerLength }) => {
      const requestId = String(++sequence);
      const response = await agent.request({
        origin: `http://127.0.0.1:${ports.h1}`,
        path: PATH,
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/octet-stream',
          'x-request-id': requestId,
          'x-maas-tenant-id': 't',
          [SIGNATURE_HEADER]: signed(requestId),
          ...(headerLength && { 'inference-header-content-length': headerLength }),
        },
      });
      const answer = Buffer.from(await response.body.arrayBuffer());
      return [response.statusCode, answer.length];
    },
    'HTTP/2': ({ body, headerLength }) =>
      new Promise((resolve, reject) => {
        const requestId = String(++sequence);
        const stream = session.request({
          ':method': 'POST',
          ':path': PATH,
          'content-type': 'application/octet-stream',
          'content-length': body.length,
          'x-request-id': requestId,
          'x-maas-tenant-id': 't',
          [SIGNATURE_HEADER]: signed(requestId),
          ...(headerLength && { 'inference-header-content-length': headerLength }),
        });
        let status = 0;
        const chunks = [];
        stream.on('response', (headers) => (status = headers[':status']));
        stream.on('data', (chunk) => chunks.push(chunk));
        stream.on('end', () => resolve([status, Buffer.concat(chunks).length]));
        stream.on('error', reject);
        stream.end(body);
      }),
  };
  const ticks = (pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // µs (100 Hz ticks)
  };
  const ownCpu = () => {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  };
  const run = async (send, scenario, connections, ms) => {
    let count = 0;
    const until = performance.now() + ms;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < until) {
          const [status, length] = await send(scenario);
          if (status !== 200 || length !== scenario.answer.length)
            throw new Error(`answer ${status}, ${length} bytes`);
          count += 1;
        }
      }),
    );
    return count;
  };
  const results = {};
  const cases = Object.keys(SCENARIOS).flatMap((scenario) =>
    [1, 8, 64].map((connections) => ({ scenario, connections })),
  );
  for (let round = 0; round < rounds; round += 1) {
    for (const { scenario, connections } of cases) {
      // The order of the transports turns each round, so none always runs first.
      const names = Object.keys(transports);
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        await run(transports[name], SCENARIOS[scenario], connections, 300); // warm-up
        const [client0, worker0, started] = [ownCpu(), ticks(worker.pid), performance.now()];
        const count = await run(transports[name], SCENARIOS[scenario], connections, seconds * 1000);
        const wall = performance.now() - started;
        const entry = {
          rps: (count * 1000) / wall,
          client: (ownCpu() - client0) / count,
          worker: (ticks(worker.pid) - worker0) / count,
        };
        ((results[`${scenario}, ${connections} conn`] ??= {})[name] ??= []).push(entry);
      }
    }
  }
  const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
  console.log(
    `${rounds} rounds of ${seconds} s each; medians; CPU µs per request (gateway side includes the load loop)`,
  );
  console.log(
    'scenario                    transport  req/s   gateway  worker   total  total vs link',
  );
  for (const [label, byTransport] of Object.entries(results)) {
    const total = (name) => median(byTransport[name].map((e) => e.client + e.worker));
    for (const [name, entries] of Object.entries(byTransport)) {
      const m = (key) => median(entries.map((e) => e[key]));
      console.log(
        `${label.padEnd(27)} ${name.padEnd(9)} ${m('rps').toFixed(0).padStart(6)} ${m('client').toFixed(0).padStart(8)} ${m('worker').toFixed(0).padStart(7)} ${total(name).toFixed(0).padStart(7)}  ${(total(name) / total('link')).toFixed(2)}×`,
      );
    }
  }
  session.close();
  await agent.close();
  linkClient.onModuleDestroy();
  worker.kill();
}
