// Where the platform path spends CPU (run by hand): starts the platform with V8's CPU profiler
// on the gateway and the worker, drives inference requests through the gateway, and
// prints the functions with the most self time in each process.
//
//   node tools/build.mjs && TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \
//     TEST_REDIS_URL=redis://127.0.0.1:56379 node bench/serving/profile.mjs [json|binary] [seconds] \
//     [connections] [rows per request]
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startTestPlatform, uploadModelVersion } from '@maas/testing';
import { benchTenant } from './bench-tenant.mjs';
import { benchMlp, binaryBody, inferOnce, jsonBody } from './bodies.mjs';

const mode = process.argv[2] ?? 'binary';
const seconds = Number(process.argv[3] ?? 5);
const connections = Number(process.argv[4] ?? 64);
const rowsPerRequest = Number(process.argv[5] ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'maas-profile-'));
const profiled = (name) => ({
  LOG_LEVEL: 'warn',
  NODE_OPTIONS: `--import ${new URL('./cpu-profiler.mjs', import.meta.url).href}`,
  MAAS_CPU_PROFILE_DIR: join(dir, name),
});
const platform = await startTestPlatform({
  env: { gateway: profiled('gateway'), inference: profiled('inference') },
});
const onnx = benchMlp();
try {
  const { key } = await benchTenant(platform, 'profile');
  await uploadModelVersion(platform, key, 'mlp', onnx);
  const headers = { 'x-api-key': key };
  const rows = Array.from({ length: rowsPerRequest }, () =>
    Array.from({ length: 784 }, Math.random),
  );
  let body;
  if (mode === 'json') {
    body = jsonBody(rows);
    headers['content-type'] = 'application/json';
  } else {
    const binary = binaryBody(rows);
    body = binary.body;
    headers['content-type'] = 'application/octet-stream';
    headers['inference-header-content-length'] = String(binary.headerLength);
  }
  const pool = new Pool(platform.gateway.url, { connections });
  const send = async () => (await inferOnce(pool, headers, body)) === 200;
  for (let i = 0; i < 200; i++) await send();
  process.kill(platform.gateway.pid, 'SIGUSR2');
  process.kill(platform.inference.pid, 'SIGUSR2');
  const ticks = (pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const before = [platform.gateway.pid, platform.inference.pid].map(ticks);
  // The worker's CPU by thread (event loop, model threads, onnxruntime's and libuv's pools):
  // the V8 profile below sees the event loop only.
  const threadTicks = (pid) =>
    new Map(
      readdirSync(`/proc/${pid}/task`).map((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.split(') ')[1].split(' ');
        return [
          tid,
          {
            name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
            ticks: Number(f[11]) + Number(f[12]),
          },
        ];
      }),
    );
  const threadsBefore = threadTicks(platform.inference.pid);
  const end = performance.now() + seconds * 1000;
  let ok = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) if (await send()) ok++;
    }),
  );
  const [gateway, worker] = [platform.gateway.pid, platform.inference.pid].map((pid, i) =>
    (((ticks(pid) - before[i]) * 10_000) / ok).toFixed(0),
  );
  const byName = new Map();
  for (const [tid, { name, ticks: t }] of threadTicks(platform.inference.pid)) {
    const spent = t - (threadsBefore.get(tid)?.ticks ?? 0);
    // Node's threads all carry the process's name: told apart by id (the event loop's is the pid).
    const label =
      name === 'node'
        ? tid === String(platform.inference.pid)
          ? 'event loop'
          : `node#${tid}`
        : name;
    byName.set(label, (byName.get(label) ?? 0) + spent);
  }
  await pool.close();
  console.log(
    'worker CPU per request by thread: ' +
      [...byName]
        .filter(([, t]) => t > 0)
        .sort((x, y) => y[1] - x[1])
        .map(([name, t]) => `${name} ${((t * 10_000) / ok).toFixed(0)} µs`)
        .join(', '),
  );
  console.log(
    `${mode}: ${Math.round(ok / seconds)} req/s, CPU per request (profiler on): gateway ${gateway} µs, worker ${worker} µs`,
  );
} finally {
  await platform.stop();
}

for (const name of ['gateway', 'inference']) {
  const file = readdirSync(join(dir, name)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) continue;
  const profile = JSON.parse(readFileSync(join(dir, name, file), 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const interval = (profile.endTime - profile.startTime) / profile.samples.length;
  for (const id of profile.samples) {
    const { callFrame } = byId.get(id);
    const where = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(apps|libs)\//, '$1/')}:${callFrame.lineNumber}`;
    self.set(where, (self.get(where) ?? 0) + interval);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${name}: top self time (${join(dir, name, file)})`);
  for (const [where, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${where}`);
  }
}
