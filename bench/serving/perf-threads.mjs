// Where one platform thread spends its CPU, by `perf` samples (run by hand; needs Linux perf):
// the platform as shipped serves binary requests through the gateway while `perf record -e
// cpu-clock` samples one thread for 3 s: the worker's model thread (its busiest thread but the
// event loop), the worker's event loop, or the gateway's. V8's CPU profiler (profile.mjs) also
// counts time a thread waits for a core, so on a busy 2-core machine it reads as wall time; perf's
// cpu-clock samples only CPU. Prints CPU per request by thread of both processes, then perf's
// breakdown by library and its top symbols (JIT frames named: --perf-basic-prof-only-functions).
//
//   node tools/build.mjs && TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \
//     TEST_REDIS_URL=redis://127.0.0.1:56379 node bench/serving/perf-threads.mjs \
//     [model-thread|loop|gateway] [seconds = 6] [connections = 8] [rows = 32]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startTestPlatform, uploadModelVersion } from '@maas/testing';
import { shippedSettings } from '../shipped-settings.mjs';
import { threadNanos } from '../thread-cpu.mjs';
import { benchTenant } from './bench-tenant.mjs';
import { benchMlp, binaryBody, inferOnce } from './bodies.mjs';

const [which = 'model-thread', seconds = 6, connections = 8, rows = 32] = process.argv
  .slice(2)
  .map((arg, i) => (i === 0 ? arg : Number(arg)));
const PERF_SECONDS = 3;
const data = join(mkdtempSync(join(tmpdir(), 'maas-perf-')), 'perf.data');
const { body, headerLength } = binaryBody(
  Array.from({ length: rows }, () => Array.from({ length: 784 }, Math.random)),
);
const named = { NODE_OPTIONS: '--perf-basic-prof-only-functions' };
const { env } = shippedSettings();
const platform = await startTestPlatform({
  env: {
    gateway: { ...env.gateway, ...(which === 'gateway' ? named : {}) },
    inference: { ...env.inference, ...(which === 'gateway' ? {} : named) },
  },
});
try {
  const { key } = await benchTenant(platform, 'perf-threads');
  await uploadModelVersion(platform, key, 'mlp', benchMlp());
  const pool = new Pool(platform.gateway.url, { connections });
  const headers = {
    'x-api-key': key,
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(headerLength),
  };
  let answered = 0;
  const send = async () => {
    const status = await inferOnce(pool, headers, body);
    if (status !== 200) throw new Error(`status ${status}`);
    answered++;
  };
  for (let i = 0; i < 300; i++) await send();
  answered = 0;
  const worker = platform.inference.pid;
  const gateway = platform.gateway.pid;
  const before = { worker: threadNanos(worker), gateway: threadNanos(gateway) };
  const end = performance.now() + seconds * 1000;
  // perf starts once the load has run a second, on the thread asked for.
  const perf = new Promise((resolve) =>
    setTimeout(() => {
      const now = threadNanos(worker);
      const busiest = [...now]
        .filter(([tid]) => tid !== String(worker))
        .map(([tid, ns]) => [tid, ns - (before.worker.get(tid) ?? 0)])
        .sort((x, y) => y[1] - x[1])[0][0];
      const tid = { loop: String(worker), gateway: String(gateway) }[which] ?? busiest;
      console.log(`perf on ${which} (thread ${tid}) for ${PERF_SECONDS} s`);
      spawn(
        'perf',
        [
          'record',
          '-q',
          '-e',
          'cpu-clock',
          '-F',
          '4000',
          '-g',
          '-t',
          tid,
          '-o',
          data,
          '--',
          'sleep',
          String(PERF_SECONDS),
        ],
        { stdio: 'inherit' },
      ).once('exit', resolve);
    }, 1000),
  );
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await send();
    }),
  );
  await perf;
  const perRequest = (pid, from) =>
    [...threadNanos(pid)]
      .map(([tid, ns]) => [
        tid === String(pid) ? 'event loop' : tid,
        Math.round((ns - (from.get(tid) ?? 0)) / 1000 / answered),
      ])
      .filter(([, us]) => us > 0)
      .sort((x, y) => y[1] - x[1])
      .map(([tid, us]) => `${tid} ${us}`)
      .join(', ');
  console.log(`${Math.round(answered / seconds)} req/s; CPU µs per request by thread:`);
  console.log(`  worker: ${perRequest(worker, before.worker)}`);
  console.log(`  gateway: ${perRequest(gateway, before.gateway)}`);
  await pool.close();
} finally {
  await platform.stop();
}
const report = (sort, lines) =>
  execFileSync('perf', ['report', '-i', data, '--no-children', '--sort', sort, '-g', 'none'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
    .slice(0, lines)
    .join('\n');
console.log(`\nby library:\n${report('dso', 8)}\n\ntop symbols:\n${report('sym', 25)}`);
