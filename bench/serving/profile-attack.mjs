// Where the gateway spends CPU on a hostile tenant's attack (run by hand), the gateway under
// V8's CPU profiler; prints the functions with the most self and inclusive time, idle excluded.
//   slowloris: 100 sockets stopping inside their headers and 100 declaring a 10 MB upload and
//              stopping after 1 KiB
//   sse:       500 training-event streams opened 25 at a time (all but 16 refused, 429)
//
//   node tools/build.mjs && TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \
//     TEST_REDIS_URL=redis://127.0.0.1:56379 node bench/serving/profile-attack.mjs [slowloris|sse]
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGemmModel } from '@maas/onnx';
import { createTenantWithKey, startTestPlatform, uploadModelVersion } from '@maas/testing';

const attack = process.argv[2] ?? 'slowloris';

const dir = mkdtempSync(join(tmpdir(), 'maas-profile-'));
const platform = await startTestPlatform({
  env: {
    gateway: {
      LOG_LEVEL: 'warn',
      HTTP_IDLE_TIMEOUT_MS: '3000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '3000',
      MAX_EVENT_STREAMS_PER_TENANT: '16',
      NODE_OPTIONS: `--import ${new URL('./cpu-profiler.mjs', import.meta.url).href}`,
      MAAS_CPU_PROFILE_DIR: join(dir, 'gateway'),
    },
  },
});
let cpu;
try {
  const { key } = await createTenantWithKey(platform, 'slowloris');
  await uploadModelVersion(platform, key, 'a-model', buildGemmModel({ weights: [[1]], bias: [0] }));
  const startProfiling = () => process.kill(platform.gateway.pid, 'SIGUSR2');
  if (attack !== 'sse') startProfiling();
  const before = process.cpuUsage();
  const stat = () =>
    readFileSync(`/proc/${platform.gateway.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = () => Number(stat()[11]) + Number(stat()[12]);
  let t0 = ticks();
  if (attack === 'sse') {
    // A job to stream: a dataset and a tree job (its stream stays open until the job ends).
    const dataset = await fetch(`${platform.gateway.url}/api/datasets?name=d`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'text/csv' },
      body: ['x,y', ...Array.from({ length: 40 }, (_, i) => `${i},${i % 2 ? 'a' : 'b'}`)].join(
        '\n',
      ),
    }).then((r) => r.json());
    const job = await fetch(`${platform.gateway.url}/api/training-jobs`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({
        datasetId: dataset.id,
        target: 'y',
        algorithm: 'mlp',
        task: 'classification',
        modelName: 'm',
        hyperparameters: { epochs: 10000 },
      }),
    }).then((r) => r.json());
    if (!job.id) throw new Error(`no job to stream: ${JSON.stringify(job)}`);
    const url = `${platform.gateway.url}/api/training-jobs/${job.id}/events`;
    // The streams alone, not the dataset and job set up for them.
    startProfiling();
    await new Promise((resolve) => setTimeout(resolve, 200));
    t0 = ticks();
    const held = [];
    const statuses = {};
    for (let wave = 0; wave < 20; wave += 1) {
      await Promise.all(
        Array.from({ length: 25 }, () =>
          fetch(url, { headers: { 'x-api-key': key } }).then((r) => {
            held.push(r);
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          }),
        ),
      );
    }
    console.log('statuses', JSON.stringify(statuses));
    await Promise.all(held.map((r) => r.body?.cancel().catch(() => undefined)));
  } else {
    const closings = [];
    for (let i = 0; i < 200; i += 1) {
      const socket = connect(platform.gateway.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      closings.push(new Promise((resolve) => socket.once('close', resolve)));
      socket.write(
        i % 2 === 0
          ? `POST /v2/models/a-model/infer HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\n`
          : `POST /api/models/a-model/versions HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\n` +
              `content-type: application/octet-stream\r\ncontent-length: 10000000\r\n\r\n` +
              'x'.repeat(1024),
      );
    }
    await Promise.race([Promise.all(closings), new Promise((r) => setTimeout(r, 30_000))]);
  }
  cpu = (ticks() - t0) * 10;
  void before;
} finally {
  await platform.stop();
}
console.log(`gateway CPU over the attack: ${cpu} ms`);
const file = readdirSync(join(dir, 'gateway')).find((f) => f.endsWith('.cpuprofile'));
const profile = JSON.parse(readFileSync(join(dir, 'gateway', file), 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parent.set(child, node.id);
const self = new Map();
const inclusive = new Map();
const interval = (profile.endTime - profile.startTime) / profile.samples.length / 1000;
const name = ({ callFrame }) =>
  `${callFrame.functionName || '(anonymous)'} ${callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(apps|libs)\//, '$1/')}:${callFrame.lineNumber}`;
for (const id of profile.samples) {
  const node = byId.get(id);
  if (node.callFrame.functionName === '(idle)') continue;
  self.set(name(node), (self.get(name(node)) ?? 0) + interval);
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const n = name(byId.get(at));
    if (seen.has(n)) continue;
    seen.add(n);
    inclusive.set(n, (inclusive.get(n) ?? 0) + interval);
  }
}
console.log('\nself ms');
for (const [where, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
  console.log(`${ms.toFixed(0).padStart(6)}  ${where}`);
console.log('\ninclusive ms');
for (const [where, ms] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 45))
  console.log(`${ms.toFixed(0).padStart(6)}  ${where}`);
