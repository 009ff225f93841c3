// The floor of any gateway + worker design on this machine (run by hand, no services needed):
// what a request costs when it takes the platform's hops and nothing else. A bare node:http
// front (floor-front.mjs) forwards each binary request over one TCP connection to a bare worker
// process (floor-back.mjs), which stacks the rows of each event-loop turn into one onnxruntime
// call on a model thread and answers. No API keys, limits, metering, routing, checks, metrics or
// logs. Measured in the same run: the strong hand-written server (the reference of
// bench/serving/run.mjs) and onnxruntime's own CPU per call (the worker's session options).
// Prints the issue 16 target ratios for the floor: where the floor itself misses a target, no
// gateway + worker split can meet it on this machine, however lean its code.
//
//   node bench/serving/floor.mjs [seconds] [rounds]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@maas/testing';
import { processNanos } from '../thread-cpu.mjs';
import { benchMlp, binaryBody, jsonBody, ortOwnCpu } from './bodies.mjs';
import { RawConnection, serialise } from './raw-client.mjs';

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 2);
const here = fileURLToPath(new URL('.', import.meta.url));
const onnx = benchMlp();
const modelPath = join(mkdtempSync(join(tmpdir(), 'maas-floor-')), 'mlp.onnx');
writeFileSync(modelPath, onnx);
const row = () => Array.from({ length: 784 }, Math.random);

/** Starts `script` with `args`; resolves once it printed its first line (port or 'ready'). */
async function start(script, ...args) {
  const child = spawn(process.execPath, [join(here, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await once(child.stdout, 'data');
  return { child, line: String(line).trim() };
}

/** CPU µs per request of `pids` (all their threads) while `connections` loops send `bytes`. */
async function load(port, connections, bytes, pids) {
  const warm = performance.now() + 1000;
  const end = warm + seconds * 1000;
  let before;
  const timer = setTimeout(() => (before = pids.map(processNanos)), warm - performance.now());
  let requests = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const connection = new RawConnection(port);
      while (performance.now() < end) {
        const status = await connection.send(bytes);
        if (status !== 200) throw new Error(`status ${status}`);
        if (performance.now() >= warm) requests++;
      }
      connection.close();
    }),
  );
  clearTimeout(timer);
  const spent = pids.reduce((sum, pid, i) => sum + processNanos(pid) - before[i], 0);
  return {
    'req/s': Math.round(requests / seconds),
    'CPU µs/req': Math.round(spent / 1000 / requests),
  };
}

const jsonBytes = (port) =>
  serialise(port, {
    path: '/infer',
    headers: { 'content-type': 'application/json' },
    body: jsonBody([row()]),
  });
const binaryBytes = (port, rows) => {
  const { body, headerLength } = binaryBody(Array.from({ length: rows }, row));
  return serialise(port, {
    path: '/v2/models/mlp/infer',
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(headerLength),
    },
    body,
  });
};

const results = [];
for (let round = 1; round <= rounds; round++) {
  const ort1 = (await ortOwnCpu(onnx, 1, seconds))['CPU µs/call'];
  const ort32 = (await ortOwnCpu(onnx, 32, seconds))['CPU µs/call'];
  const handPort = await freePort();
  const strong = await start('hand-written-server.mjs', modelPath, String(handPort), 'strong');
  const baseline = await load(handPort, 64, jsonBytes(handPort), [strong.child.pid]);
  strong.child.kill();
  const back = await start('floor-back.mjs', modelPath);
  const front = await start('floor-front.mjs', back.line);
  const frontPort = Number(front.line);
  const pids = [front.child.pid, back.child.pid];
  const one = await load(frontPort, 64, binaryBytes(frontPort, 1), pids);
  const thirtyTwo = await load(frontPort, 8, binaryBytes(frontPort, 32), pids);
  front.child.kill();
  back.child.kill();
  const result = {
    round,
    'hand-written JSON 64 conns µs/req': baseline['CPU µs/req'],
    'floor binary 1 row 64 conns µs/req': one['CPU µs/req'],
    'floor binary 32 rows 8 conns µs/req': thirtyTwo['CPU µs/req'],
    'onnxruntime own µs, 1 row': ort1,
    'onnxruntime own µs, 32 rows': ort32,
  };
  results.push(result);
  console.log(JSON.stringify({ ...result, baseline, one, thirtyTwo }));
}
console.table(results);
for (const r of results) {
  const binaryRatio =
    r['floor binary 1 row 64 conns µs/req'] / r['hand-written JSON 64 conns µs/req'];
  const outside = r['floor binary 32 rows 8 conns µs/req'] - r['onnxruntime own µs, 32 rows'];
  console.log(
    `round ${r.round}: floor binary 1 row ${binaryRatio.toFixed(2)}x the hand-written JSON request's CPU (target <= 0.5x); ` +
      `floor 32 rows outside onnxruntime ${outside} vs onnxruntime's own ${r['onnxruntime own µs, 32 rows']} µs ` +
      `(${(outside / r['onnxruntime own µs, 32 rows']).toFixed(2)}x, target <= 1x)`,
  );
}
