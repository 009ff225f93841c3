// Full-collection storms in the inference worker (run by hand): the platform as shipped against
// the same build with the worker's `--heap-growing-percent` withheld (apps/inference/src/
// v8-flags.ts), alternating, each on a freshly started platform, under binary 32-row requests
// through the gateway. Prints, per run, req/s, p99, the worker's CPU per request by thread (event
// loop, model thread, V8's helper threads and the rest) and the worker's full collections
// (`maas_nodejs_gc_duration_seconds_count{kind="major"}` from its /metrics).
//
//   node tools/build.mjs && TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \
//     TEST_REDIS_URL=redis://127.0.0.1:56379 node bench/serving/gc-storms.mjs [rounds] [seconds]
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startTestPlatform, uploadModelVersion } from '@maas/testing';
import { shippedSettings } from '../shipped-settings.mjs';
import { threadNanos } from '../thread-cpu.mjs';
import { benchTenant } from './bench-tenant.mjs';
import { benchMlp, binaryBody, inferOnce } from './bodies.mjs';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 8);
const CONNECTIONS = 8;
const ROWS = 32;
const withholdFlag = fileURLToPath(new URL('./withhold-heap-growing.mjs', import.meta.url));
const onnx = benchMlp();
const { body, headerLength } = binaryBody(
  Array.from({ length: ROWS }, () => Array.from({ length: 784 }, Math.random)),
);

const majors = async (platform) => {
  const text = await (await fetch(`${platform.inference.opsUrl}/metrics`)).text();
  return Number(
    /maas_nodejs_gc_duration_seconds_count\{[^}]*kind="major"[^}]*\} (\S+)/.exec(text)?.[1] ?? NaN,
  );
};

async function run(variant) {
  const { env } = shippedSettings();
  const inference = { ...env.inference };
  if (variant === 'without the flag') inference.NODE_OPTIONS = `--import ${withholdFlag}`;
  const platform = await startTestPlatform({ env: { gateway: env.gateway, inference } });
  try {
    const { key } = await benchTenant(platform, 'gc-storms');
    await uploadModelVersion(platform, key, 'mlp', onnx);
    const pool = new Pool(platform.gateway.url, { connections: CONNECTIONS });
    const headers = {
      'x-api-key': key,
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(headerLength),
    };
    const latencies = [];
    const send = async () => {
      const started = performance.now();
      const status = await inferOnce(pool, headers, body);
      if (status !== 200) throw new Error(`status ${status}`);
      latencies.push(performance.now() - started);
    };
    for (let i = 0; i < 200; i++) await send();
    latencies.length = 0;
    const pid = platform.inference.pid;
    // The model thread is the one thread that spends more than the event loop's tenth at batch
    // 32; V8's helper threads are the rest of the process's busy threads.
    const before = threadNanos(pid);
    const majorsBefore = await majors(platform);
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < end) await send();
      }),
    );
    const after = threadNanos(pid);
    const fullCollections = (await majors(platform)) - majorsBefore;
    await pool.close();
    const n = latencies.length;
    const spent = [...after]
      .map(([tid, ns]) => [tid, (ns - (before.get(tid) ?? 0)) / 1000 / n])
      .sort((a, b) => b[1] - a[1]);
    const eventLoop = spent.find(([tid]) => tid === String(pid))?.[1] ?? 0;
    const others = spent.filter(([tid]) => tid !== String(pid));
    const modelThread = others[0]?.[1] ?? 0;
    const rest = others.slice(1).reduce((sum, [, us]) => sum + us, 0);
    latencies.sort((a, b) => a - b);
    return {
      variant,
      'req/s': Math.round(n / seconds),
      'p99 ms': +latencies[Math.floor(0.99 * n)].toFixed(1),
      'worker µs/req': Math.round(eventLoop + modelThread + rest),
      'event loop': Math.round(eventLoop),
      'model thread': Math.round(modelThread),
      'V8 helpers and rest': Math.round(rest),
      'full collections': fullCollections,
    };
  } finally {
    await platform.stop();
  }
}

const results = [];
for (let round = 0; round < rounds; round++) {
  for (const variant of round % 2
    ? ['without the flag', 'as shipped']
    : ['as shipped', 'without the flag']) {
    const result = await run(variant);
    console.log(JSON.stringify(result));
    results.push(result);
  }
}
console.table(results);
