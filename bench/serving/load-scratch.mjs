import { Pool } from 'undici';
import { buildMlpModel, randomMlp } from '@maas/onnx';
import { startTestPlatform, uploadModelVersion } from '@maas/testing';
import { benchTenant } from './bench-tenant.mjs';
import { jsonBody, binaryBody } from './bodies.mjs';
import { shippedSettings } from '../shipped-settings.mjs';
import { writeFileSync } from 'node:fs';
const [mode = 'json', seconds = 15, conns = 64, rowsN = 1] = process.argv.slice(2);
const shipped = shippedSettings();
const env = JSON.parse(process.env.BENCH_ENV ?? '{}');
const platform = await startTestPlatform({ env: { gateway: { ...shipped, ...(env.gateway ?? {}) }, inference: { ...shipped, ...(env.inference ?? {}) } } });
const onnx = buildMlpModel({ layers: randomMlp([784, 256, 256, 10], 7).map((l, i, a) => ({ ...l, activation: i === a.length - 1 ? 'none' : 'relu' })) });
try {
  const { key } = await benchTenant(platform, 'load');
  await uploadModelVersion(platform, key, 'mlp', onnx);
  const rows = Array.from({ length: +rowsN }, () => Array.from({ length: 784 }, Math.random));
  const headers = { 'x-api-key': key };
  let body;
  if (mode === 'json') { body = jsonBody(rows); headers['content-type'] = 'application/json'; }
  else { const b = binaryBody(rows); body = b.body; headers['content-type'] = 'application/octet-stream'; headers['inference-header-content-length'] = String(b.headerLength); }
  const pool = new Pool(platform.gateway.url, { connections: +conns });
  const send = async () => { const r = await pool.request({ method: 'POST', path: '/v2/models/mlp/infer', headers, body }); await r.body.arrayBuffer(); return r.statusCode === 200; };
  for (let i = 0; i < 300; i++) await send();
  writeFileSync('/tmp/load-pids', `${platform.gateway.pid} ${platform.inference.pid}\n`);
  if (process.env.HEAP_SAMPLE) { writeFileSync('/tmp/heap-sample-now', ''); setTimeout(() => writeFileSync('/tmp/heap-sample-now', ''), 4000); }
  const end = performance.now() + seconds * 1000; let ok = 0;
  await Promise.all(Array.from({ length: +conns }, async () => { while (performance.now() < end) if (await send()) ok++; }));
  writeFileSync('/tmp/load-done', String(ok));
  console.log('ok', ok, 'req/s', Math.round(ok / seconds));
  await pool.close();
} finally { if (process.env.DUMP) { writeFileSync('/tmp/gw.log', platform.gateway.logs); writeFileSync('/tmp/wk.log', platform.inference.logs); } await platform.stop(); }
