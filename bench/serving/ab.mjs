// Interleaved A/B of two platform configurations (run by hand): two whole platforms, started as
// shipped plus the variables given for each side, serve the same request from 64 (or N) keep-
// alive connections in alternating windows (A then B, then B then A, ...), each window's first
// 300 ms left out. The machine's drift over minutes (another VM on the host, its caches) moves
// both sides alike, so differences of a few per cent show, where run.mjs's sequential runs move
// by ±20 %. Prints, per side: server CPU per request (gateway, worker, Redis, from the
// scheduler's accounting), p50/p99, requests deferred by fair admission, rows per runtime call.
//
//   node tools/build.mjs && TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \
//     TEST_REDIS_URL=redis://127.0.0.1:56379 \
//     A='{"gateway":{"ADMISSIONS_PER_TURN_ALONE":"4"}}' B='{}' MODE=binary ROWS=1 \
//     node bench/serving/ab.mjs [window pairs] [connections]
//
// Two builds: a side's "root" names another checkout whose apps run instead of this one's, made
// and built by `bash bench/serving/ab-checkout.sh <commit> /tmp/maas-base`; then
// A='{"root":"/tmp/maas-base"}' B='{}' compares that commit with this working tree's build.
import { execFileSync } from 'node:child_process';
import { startTestPlatform, uploadModelVersion } from '@maas/testing';
import { shippedSettings } from '../shipped-settings.mjs';
import { processNanos } from '../thread-cpu.mjs';
import { benchTenant } from './bench-tenant.mjs';
import { benchMlp, binaryBody, jsonBody } from './bodies.mjs';
import { RawConnection, serialise } from './raw-client.mjs';

const pairs = Number(process.argv[2] ?? 12);
const connections = Number(process.argv[3] ?? 64);
const mode = process.env.MODE ?? 'binary';
const rows = Array.from({ length: Number(process.env.ROWS ?? 1) }, () =>
  Array.from({ length: 784 }, Math.random),
);
const WINDOW_MS = 1500;
const SETTLE_MS = 300;
const variants = { A: JSON.parse(process.env.A ?? '{}'), B: JSON.parse(process.env.B ?? '{}') };
const { env } = shippedSettings();

const metric = (text, name) =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

function requestFor(port, key) {
  const headers = { 'x-api-key': key };
  let body;
  if (mode === 'json') {
    headers['content-type'] = 'application/json';
    body = jsonBody(rows);
  } else {
    const binary = binaryBody(rows);
    headers['content-type'] = 'application/octet-stream';
    headers['inference-header-content-length'] = String(binary.headerLength);
    body = binary.body;
  }
  return serialise(port, { path: '/v2/models/mlp/infer', headers, body });
}

const sides = [];
try {
  for (const [name, extra] of Object.entries(variants)) {
    const platform = await startTestPlatform({
      env: {
        gateway: { ...env.gateway, ...extra.gateway },
        inference: { ...env.inference, ...extra.inference },
      },
      appRoot: extra.root,
    });
    sides.push({ name, extra, platform });
    const { key } = await benchTenant(platform, 'ab');
    await uploadModelVersion(platform, key, 'mlp', benchMlp());
    const port = Number(new URL(platform.gateway.url).port);
    const info = execFileSync('redis-cli', ['-u', platform.redisUrl, 'info', 'server'], {
      encoding: 'utf8',
    });
    Object.assign(sides.at(-1), {
      bytes: requestFor(port, key),
      pool: Array.from({ length: connections }, () => new RawConnection(port)),
      pids: [
        platform.gateway.pid,
        platform.inference.pid,
        Number(/process_id:(\d+)/.exec(info)[1]),
      ],
      cpuUs: [0, 0, 0],
      requests: 0,
      latencies: [],
    });
  }

  /** One window of load on `side`; `measure` false only warms it up. */
  const window = async (side, measure = true) => {
    const end = performance.now() + WINDOW_MS;
    const settled = performance.now() + SETTLE_MS;
    let before;
    await Promise.all(
      side.pool.map(async (connection) => {
        while (performance.now() < end) {
          const started = performance.now();
          const status = await connection.send(side.bytes);
          if (status !== 200) throw new Error(`${side.name}: status ${status}`);
          if (!measure || started < settled) continue;
          before ??= side.pids.map(processNanos);
          side.latencies.push(performance.now() - started);
          side.requests++;
        }
      }),
    );
    if (measure)
      side.pids.forEach((pid, i) => (side.cpuUs[i] += (processNanos(pid) - before[i]) / 1000));
  };
  for (const side of sides) await window(side, false);
  for (let pair = 0; pair < pairs; pair++) {
    for (const side of pair % 2 ? [...sides].reverse() : sides) await window(side);
  }

  for (const side of sides) {
    const [gateway, worker, redis] = side.cpuUs.map((us) => us / side.requests);
    const sorted = Float64Array.from(side.latencies).sort();
    const [gatewayMetrics, workerMetrics] = await Promise.all(
      [
        side.platform.gateway.opsUrl ?? side.platform.gateway.url,
        side.platform.inference.opsUrl,
      ].map(async (url) => (await fetch(`${url}/metrics`)).text()),
    );
    const rowsPerCall =
      metric(workerMetrics, 'maas_inference_batch_size_sum') /
      metric(workerMetrics, 'maas_inference_batch_size_count');
    console.log(
      `${side.name} ${JSON.stringify(side.extra)}: ${(gateway + worker + redis).toFixed(1)} µs/req ` +
        `(gateway ${gateway.toFixed(1)}, worker ${worker.toFixed(1)}, redis ${redis.toFixed(1)}) ` +
        `over ${side.requests} requests; p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, ` +
        `p99 ${sorted[Math.floor(sorted.length * 0.99)].toFixed(1)} ms; deferred by fair admission ` +
        `${metric(gatewayMetrics, 'maas_fair_admission_deferred_total')}; rows per runtime call ` +
        `${rowsPerCall.toFixed(1)}`,
    );
  }
} finally {
  for (const side of sides) {
    for (const connection of side.pool ?? []) connection.close();
    await side.platform.stop();
  }
}
