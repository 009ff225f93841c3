import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildGemmModel, buildLargeAddModel } from '@maas/onnx';
import { gzipBomb, startTestPlatform, type TestPlatform, zipBomb } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answered,
  cpuMsOf,
  latencyBound,
  mainThreadCpuMsOf,
  p99,
  remoteTraffic,
  spawnAttackerClient,
  trafficDuring,
} from './bystander-traffic.js';
import { type Api, apiFor, createTenant, uploadModel } from './serving-helpers.js';

const MiB = 1024 * 1024;
const MAX_UPLOAD = 160 * MiB;
const VALIDATION_MEMORY = 320 * MiB;
/** Requests per phase at least, for a meaningful p99. */
const MIN_REQUESTS = 300;
/** The quiet phase lasts about as long as the attack, so both sample this machine's noise alike. */
const QUIET_MS = 10_000;

/** Rows of the large CSV dataset A uploads (~32 MiB). */
const CSV_ROWS = 400_000;
/** The one field of the record bomb: a CSV that is one record, never ending. */
const RECORD_BOMB_BYTES = 24 * MiB;

/** A valid CSV: eight numeric columns and a label, `rows` rows. */
function largeCsv(rows: number): string {
  const lines = ['a,b,c,d,e,f,g,h,label'];
  for (let i = 0; i < rows; i++) {
    const values = Array.from({ length: 8 }, (_, j) => ((i * 31 + j * 17) % 1000) / 7);
    lines.push(`${values.map((v) => v.toFixed(4)).join(',')},${i % 3 ? 'cat' : 'dog'}`);
  }
  return lines.join('\n') + '\n';
}

/** out = x + W, W of `mib` MiB: a valid model, only big (validation needs ~3× it plus ~90 MiB). */
const bigOnnx = (mib: number) => Buffer.from(buildLargeAddModel(mib, 7));

interface AttackUpload {
  name: string;
  /** The route it goes to, with its query. */
  path: string;
  contentType: string;
  file: string;
}

interface AttackResult {
  name: string;
  status: number | string;
  detail: string;
  ms: number;
}

/**
 * Tenant A's client, in a process of its own: on a real platform it runs on another machine,
 * so its CPU (reading and sending hundreds of MiB) must not be charged to the gateway's
 * latency, nor slow the process measuring tenant B. Niced for the same reason: this machine's
 * two cores also run the whole platform. Uploads go in two lanes (A's per-tenant limit is 2).
 */
const ATTACKER = `
import { readFile } from 'node:fs/promises';
const { url, key, lanes } = JSON.parse(process.env.ATTACK_PLAN);
const results = [];
await Promise.all(lanes.map(async (lane) => {
  for (const upload of lane) {
    const body = await readFile(upload.file);
    const started = Date.now();
    let status, detail = '';
    try {
      const response = await fetch(url + upload.path, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': upload.contentType },
        body,
      });
      status = response.status;
      detail = (await response.text()).slice(0, 400);
    } catch (error) {
      status = 'network: ' + (error.cause?.code ?? error.message);
    }
    results.push({ name: upload.name, status, detail, ms: Date.now() - started });
  }
}));
process.stdout.write(JSON.stringify(results));
`;

function runAttacker(plan: unknown): { done: Promise<AttackResult[]> } {
  const child = spawnAttackerClient(['--input-type=module', '-e', ATTACKER], {
    env: { PATH: process.env.PATH ?? '', ATTACK_PLAN: JSON.stringify(plan) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<AttackResult[]>((resolve, reject) => {
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as AttackResult[]);
      else reject(new Error(`attacker exited ${code}: ${err}`));
    });
  });
  return { done };
}

/** A process's resident memory in MiB (VmRSS of /proc/<pid>/status). */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

describe('hostile uploads cannot stall the gateway or blow up its memory', () => {
  let platform: TestPlatform;
  let api: Api;
  let keyA: string;
  let keyB: string;
  let files: string;

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        gateway: {
          MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
          VALIDATION_MEMORY_LIMIT_BYTES: String(VALIDATION_MEMORY),
          VALIDATION_TIMEOUT_MS: '60000',
        },
      },
    });
    api = apiFor(platform.gateway.url);
    ({ key: keyA } = await createTenant(platform, 'attacker'));
    ({ key: keyB } = await createTenant(platform, 'bystander'));
    await uploadModel(
      api,
      keyB,
      'linear',
      buildGemmModel({
        weights: [
          [1, 0, 0.5],
          [0, 1, -1],
          [2, 0, 0],
          [0, -3, 1],
        ],
        bias: [0.5, -0.5, 2],
      }),
    );
    for (const name of ['bombs', 'big']) {
      const created = await api('/api/models', {
        method: 'POST',
        headers: { 'x-api-key': keyA },
        json: { name },
      });
      expect(created.status).toBe(201);
    }
    files = await mkdtemp(join(tmpdir(), 'maas-hostile-uploads-'));
    await writeFile(join(files, 'bomb.tar.gz'), gzipBomb(2048 * MiB));
    await writeFile(join(files, 'bomb.zip'), zipBomb(32));
    await writeFile(join(files, 'needs-memory.onnx'), bigOnnx(96));
    await writeFile(join(files, 'too-large.onnx'), bigOnnx(200));
    await writeFile(join(files, 'fine.onnx'), bigOnnx(24));
    await writeFile(join(files, 'large.csv'), largeCsv(CSV_ROWS));
    await writeFile(
      join(files, 'record-bomb.csv'),
      Buffer.concat([Buffer.from('text,label\n'), Buffer.alloc(RECORD_BOMB_BYTES, 'x')]),
    );
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
    if (files) await rm(files, { recursive: true, force: true });
  });

  const body = JSON.stringify({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
  });

  /**
   * Tenant B's steady traffic from its own client process: two loops, ~50 requests/s each
   * (steady, well inside B's rate limit), each answer checked (B's inputs give 7.5).
   */
  const trafficOfB = () =>
    remoteTraffic(platform.gateway.url, keyB, '/v2/models/linear/infer', body, {
      loops: 2,
      pauseMs: 20,
      expectText: '7.5',
    });

  /** B's answers while `phase` runs, and on until at least MIN_REQUESTS came. */
  async function window(
    traffic: Awaited<ReturnType<typeof trafficOfB>>,
    phase: () => Promise<unknown>,
  ): Promise<{ latencies: number[]; failures: string[] }> {
    const failuresBefore = traffic.failures.length;
    const { during } = await trafficDuring(traffic, phase, MIN_REQUESTS);
    return { latencies: during.latencies, failures: traffic.failures.slice(failuresBefore) };
  }

  /** B's answers while A's attack runs, A's results, and how long the attack took. */
  async function attackWindow(
    traffic: Awaited<ReturnType<typeof trafficOfB>>,
    attack: { done: Promise<AttackResult[]> },
  ) {
    const started = performance.now();
    let attackMs = 0;
    let results: AttackResult[] = [];
    const during = await window(traffic, async () => {
      results = await attack.done;
      attackMs = performance.now() - started;
    });
    return { during, results, attackMs };
  }

  async function eventLoopLag(): Promise<{ max: number; p99: number }> {
    const text = await (await fetch(`${platform.gateway.url}/metrics`)).text();
    const value = (name: string) =>
      Number(
        new RegExp(`^maas_nodejs_eventloop_lag_${name}_seconds\\{[^}]*\\} (\\S+)$`, 'm').exec(
          text,
        )![1],
      );
    return { max: value('max'), p99: value('p99') };
  }

  it('refuses A (422/413, never 5xx) while B sees no failure, a steady p99 and a free event loop', async () => {
    // Warm up B's model on the worker, then measure the quiet baseline.
    const traffic = await trafficOfB();
    await answered(traffic, MIN_REQUESTS);
    await eventLoopLag(); // each read resets the gateway's lag histogram: the next covers a phase
    const quiet = await window(traffic, () => new Promise((r) => setTimeout(r, QUIET_MS)));
    const quietLag = await eventLoopLag();
    expect(quiet.failures).toEqual([]);
    const gatewayPid = platform.gateway.pid!;
    const rssBefore = rssOf(gatewayPid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(gatewayPid))), 50);
    const upload = (
      name: string,
      model: string,
      format: 'onnx' | 'tfjs',
      file: string,
    ): AttackUpload => ({
      name,
      path: `/api/models/${model}/versions?format=${format}`,
      contentType: 'application/octet-stream',
      file: join(files, file),
    });
    const attack = runAttacker({
      url: platform.gateway.url,
      key: keyA,
      lanes: [
        [
          upload('gzip bomb', 'bombs', 'tfjs', 'bomb.tar.gz'),
          upload('needs memory', 'big', 'onnx', 'needs-memory.onnx'),
          upload('zip bomb', 'bombs', 'tfjs', 'bomb.zip'),
        ],
        [
          upload('too large', 'big', 'onnx', 'too-large.onnx'),
          upload('fine', 'big', 'onnx', 'fine.onnx'),
          upload('needs memory again', 'big', 'onnx', 'needs-memory.onnx'),
        ],
      ],
    });
    // What each process spent while A attacked (logged: on two cores B's latency is mostly
    // waiting for one).
    const cpuNow = () => ({
      gateway: cpuMsOf(gatewayPid),
      "gateway's validation processes": cpuMsOf(gatewayPid, { children: true }),
      worker: cpuMsOf(platform.inference.pid),
      "B's client": cpuMsOf(traffic.pid),
    });
    const cpuBefore = cpuNow();
    const { during, results, attackMs } = await attackWindow(traffic, attack);
    const cpuAfter = cpuNow();
    await traffic.stop();
    const lag = await eventLoopLag();
    clearInterval(sampler);

    const figures = {
      attackMs: Math.round(attackMs),
      quiet: { requests: quiet.latencies.length, p99Ms: +p99(quiet.latencies).toFixed(2) },
      during: { requests: during.latencies.length, p99Ms: +p99(during.latencies).toFixed(2) },
      eventLoopLagMs: {
        quiet: { max: +(quietLag.max * 1000).toFixed(1), p99: +(quietLag.p99 * 1000).toFixed(1) },
        during: { max: +(lag.max * 1000).toFixed(1), p99: +(lag.p99 * 1000).toFixed(1) },
      },
      cpuMsDuring: Object.fromEntries(
        Object.entries(cpuAfter).map(([name, ms]) => [
          name,
          ms - cpuBefore[name as keyof typeof cpuBefore],
        ]),
      ),
      gatewayRssMiB: { before: Math.round(rssBefore), peak: Math.round(rssPeak) },
      uploads: results.map((r) => `${r.name}: ${r.status} in ${r.ms} ms`),
    };
    console.log(JSON.stringify(figures, null, 2));

    const statusOf = (name: string) => results.find((r) => r.name === name);
    expect(statusOf('gzip bomb')).toMatchObject({ status: 422 });
    expect(statusOf('gzip bomb')!.detail).toMatch(
      /the archive unpacks to more than \d+(\.\d)? MiB/,
    );
    expect(statusOf('zip bomb')).toMatchObject({ status: 422 });
    expect(statusOf('needs memory')).toMatchObject({ status: 422 });
    expect(statusOf('needs memory')!.detail).toContain(
      'the model needs more than 320 MiB of memory to validate',
    );
    expect(statusOf('needs memory again')).toMatchObject({ status: 422 });
    expect(statusOf('too large')).toMatchObject({ status: 413 });
    expect(statusOf('fine')).toMatchObject({ status: 201 });

    // B: nothing failed, and its p99 held.
    expect(during.failures).toEqual([]);
    expect(during.latencies.length).toBeGreaterThanOrEqual(MIN_REQUESTS);
    // 2x, with a 25 ms floor for a quiet p99 so small that scheduler jitter is most of it. The
    // suite runs alone (`*.alone-spec.ts`, after every other file): on two cores another file's
    // load moves these p99s more than the attack does. The harm it guards against, the gateway
    // inflating a bomb, stalled B for seconds.
    expect(p99(during.latencies)).toBeLessThanOrEqual(latencyBound(p99(quiet.latencies)));
    // The gateway's loop never stalled: inflating the bomb in the gateway, as before, held it
    // for seconds. (On this shared 2-core machine the quiet phase alone shows 20-200 ms.)
    expect(lag.max).toBeLessThan(0.5);
    expect(lag.p99).toBeLessThan(0.1);
    // Its memory stayed O(chunk): 480 MiB of bodies went through it, none of it held whole.
    expect(rssPeak - rssBefore).toBeLessThan(96);

    // Still serving, and no upload left its plaintext copy behind.
    expect((await fetch(`${platform.gateway.url}/readyz`)).status).toBe(200);
    expect(
      readdirSync(tmpdir()).filter((n) => n.startsWith(`maas-validate-${gatewayPid}-`)),
    ).toEqual([]);
  }, 300_000);
  it("profiles A's CSV datasets off the gateway's event loop: B keeps its p99 while 56 MiB of CSV is read", async () => {
    const traffic = await trafficOfB();
    await answered(traffic, MIN_REQUESTS);
    await eventLoopLag();
    const quiet = await window(traffic, () => new Promise((r) => setTimeout(r, QUIET_MS)));
    expect(quiet.failures).toEqual([]);
    const gatewayPid = platform.gateway.pid!;
    const rssBefore = rssOf(gatewayPid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(gatewayPid))), 50);
    const dataset = (name: string, file: string): AttackUpload => ({
      name,
      path: `/api/datasets?name=${name}`,
      contentType: 'text/csv',
      file: join(files, file),
    });
    const attack = runAttacker({
      url: platform.gateway.url,
      key: keyA,
      lanes: [[dataset('large', 'large.csv')], [dataset('record-bomb', 'record-bomb.csv')]],
    });
    const loopBefore = mainThreadCpuMsOf(gatewayPid);
    const gatewayBefore = cpuMsOf(gatewayPid);
    const { during, results, attackMs } = await attackWindow(traffic, attack);
    const loopMs = mainThreadCpuMsOf(gatewayPid) - loopBefore;
    const gatewayMs = cpuMsOf(gatewayPid) - gatewayBefore;
    await traffic.stop();
    const lag = await eventLoopLag();
    clearInterval(sampler);
    console.log(
      JSON.stringify(
        {
          attackMs: Math.round(attackMs),
          quiet: { requests: quiet.latencies.length, p99Ms: +p99(quiet.latencies).toFixed(2) },
          during: { requests: during.latencies.length, p99Ms: +p99(during.latencies).toFixed(2) },
          gatewayCpuMs: { eventLoop: Math.round(loopMs), wholeProcess: gatewayMs },
          eventLoopLagMs: { max: +(lag.max * 1000).toFixed(1), p99: +(lag.p99 * 1000).toFixed(1) },
          gatewayRssMiB: { before: Math.round(rssBefore), peak: Math.round(rssPeak) },
          uploads: results.map(
            (r) => `${r.name}: ${r.status} in ${r.ms} ms ${r.detail.slice(0, 120)}`,
          ),
        },
        null,
        2,
      ),
    );

    const large = results.find((r) => r.name === 'large')!;
    expect(large.status).toBe(201);
    expect(large.detail).toContain(`"rows":${CSV_ROWS}`);
    const bomb = results.find((r) => r.name === 'record-bomb')!;
    expect(bomb.status).toBe(400);
    expect(bomb.detail).toContain('a record is larger than 1 MiB');
    // B: nothing failed, and its p99 held.
    expect(during.failures).toEqual([]);
    expect(p99(during.latencies)).toBeLessThanOrEqual(latencyBound(p99(quiet.latencies)));
    // The profile ran on a thread of its own: the event loop only moved the bytes along.
    // (Profiled on the loop, as before, the 32 MiB cost it ~7 s of CPU, as long as the attack.)
    expect(loopMs).toBeLessThan(attackMs / 4);
    // ... and the bomb's never-ending record was held nowhere whole.
    expect(rssPeak - rssBefore).toBeLessThan(96);
  }, 300_000);
});
