// Gateway CPU per refused request (run by hand): 500 requests in waves of 25 from a child
// process, each response held unread (a new connection each), against paths refused at
// different depths, next to a bare node:http server answering the same 429 as the floor.
//   node tools/build.mjs && TEST_DATABASE_URL=… TEST_REDIS_URL=… node bench/serving/refusal-cost.mjs
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTenantWithKey, startTestPlatform } from '@maas/testing';

const dir = mkdtempSync(join(tmpdir(), 'maas-refusal-'));
const client = join(dir, 'client.mjs');
writeFileSync(
  client,
  `const [url, key] = process.argv.slice(2);
const held = [];
const statuses = {};
for (let wave = 0; wave < 20; wave += 1)
  await Promise.all(Array.from({ length: 25 }, () =>
    fetch(url, { headers: key ? { 'x-api-key': key } : {} }).then((r) => {
      held.push(r); statuses[r.status] = (statuses[r.status] ?? 0) + 1; })));
process.send(statuses);
setInterval(() => held.length, 60_000);
`,
);
const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
async function measure(label, pid, url, key) {
  const t0 = ticks(pid);
  const child = fork(client, [url, key ?? ''], { stdio: 'ignore' });
  const statuses = await new Promise((resolve) => child.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const ms = (ticks(pid) - t0) * 10;
  child.kill();
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.log(
    `${label.padEnd(34)} ${((ms * 1000) / 500).toFixed(0).padStart(5)} µs/request  ${JSON.stringify(statuses)}`,
  );
}

writeFileSync(
  join(dir, 'floor.mjs'),
  `import { createServer } from 'node:http';
const s = createServer((req, res) => { const b = JSON.stringify({ type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'x'.repeat(60) });
res.writeHead(429, { 'content-type': 'application/problem+json', 'content-length': String(Buffer.byteLength(b)) }); res.end(b); });
s.listen(0, '127.0.0.1', () => process.send(s.address().port));`,
);
const platform = await startTestPlatform({
  env: {
    gateway: {
      MAX_EVENT_STREAMS_PER_TENANT: '1',
      ...(process.env.GW_LOG && { LOG_LEVEL: process.env.GW_LOG }),
    },
  },
});
try {
  const { key } = await createTenantWithKey(platform, 'refused');
  const base = platform.gateway.url;
  const pid = platform.gateway.pid;
  await platform.trainer.stop(); // the job stays queued: its one stream stays open
  const dataset = await fetch(`${base}/api/datasets?name=d`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'text/csv' },
    body: 'x,y,label\n1,2,a\n2,3,b\n3,4,a\n4,5,b\n',
  }).then((r) => r.json());
  const job = await fetch(`${base}/api/training-jobs`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({
      datasetId: dataset.id,
      target: 'label',
      algorithm: 'decision_tree',
      task: 'classification',
      hyperparameters: {},
      modelName: 'a-tree',
    }),
  }).then((r) => r.json());
  const events = `${base}/api/training-jobs/${job.id}/events`;
  const held = await fetch(events, { headers: { 'x-api-key': key } });
  if (held.status !== 200) throw new Error(`stream: ${held.status}`);
  for (let round = 0; round < 2; round += 1) {
    await measure('events, no key (401, raw path)', pid, `${base}/api/training-jobs/x/events`);
    await measure('events, over the cap (429, raw path)', pid, events, key);
    await measure('model 404, valid key (Fastify)', pid, `${base}/api/models/none`, key);
    await measure('healthz (Fastify route)', pid, `${base}/healthz`);
    await measure('models list, no key (401, Fastify)', pid, `${base}/api/models`);
    const bare = fork(join(dir, 'floor.mjs'), [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const port = await new Promise((resolve) => bare.once('message', resolve));
    await measure('bare node:http 429 (floor)', bare.pid, `http://127.0.0.1:${port}/x`, key);
    bare.kill();
  }
} finally {
  await platform.stop();
}
