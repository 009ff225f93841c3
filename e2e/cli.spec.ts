import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGemmModel } from '@maas/onnx';
import { REPO_ROOT, startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemm, GEMM_BIAS, GEMM_WEIGHTS } from './serving-helpers.js';
import { irisSplit, waitFor } from './training-helpers.js';

// The built `maas` CLI (apps/cli/dist/main.js) spawned as a process against the platform's
// real processes; its --json output is parsed. Config goes to a temporary MAAS_CONFIG_DIR.

const MAIN = join(REPO_ROOT, 'apps/cli/dist/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A float32 .npy file (format 1.0), as np.save writes it. */
function npyFloat32(shape: number[], values: number[]): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 'latin1');
  prefix[6] = 1;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    prefix,
    Buffer.from(header, 'latin1'),
    Buffer.from(new Float32Array(values).buffer),
  ]);
}

describe('maas CLI against a running platform', () => {
  let platform: TestPlatform;
  let dir: string;
  let env: Record<string, string>;

  const start = (args: string[], extraEnv: Record<string, string> = {}): ChildProcess =>
    spawn(process.execPath, [MAIN, ...args], {
      env: { ...env, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });

  const finish = async (child: ChildProcess): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout, stderr };
  };

  const maas = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) => {
    const child = start(args, options.env);
    child.stdin!.end(options.stdin ?? '');
    return finish(child);
  };

  /** Runs a command that must succeed with --json; answers the parsed stdout. */
  const json = async <T = Record<string, unknown>>(args: string[]): Promise<T> => {
    const run = await maas([...args, '--json']);
    expect(run.code, `maas ${args.join(' ')}: ${run.stderr}`).toBe(0);
    return JSON.parse(run.stdout) as T;
  };

  beforeAll(async () => {
    platform = await startTestPlatform();
    dir = await mkdtemp(join(tmpdir(), 'maas-cli-e2e-'));
    env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      MAAS_CONFIG_DIR: join(dir, 'config'),
    };
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let key: string;
  let tenantId: string;
  let datasetId: string;

  it('logs in as the admin (password on stdin), then creates a tenant and a key', async () => {
    const url = platform.gateway.url;
    const login = await maas(
      ['login', '--url', url, '--email', platform.admin.email, '--password-stdin', '--json'],
      { stdin: `${platform.admin.password}\n` },
    );
    expect(login.code, login.stderr).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({ url, credential: 'session' });
    const configFile = join(dir, 'config', 'config.json');
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    expect(stored).toMatchObject({ url, session: { email: platform.admin.email } });

    const tenant = await json<{ id: string; name: string }>(['admin', 'tenants', 'create', 'acme']);
    tenantId = tenant.id;
    const created = await json<{ key: string; scopes: string[] }>([
      'admin',
      'keys',
      'create',
      'acme',
      '--name',
      'laptop',
    ]);
    expect(created.scopes).toEqual(['infer', 'models:read', 'models:write', 'train', 'usage:read']);
    key = created.key;
    const tenants = await json<{ name: string }[]>(['admin', 'tenants', 'list']);
    expect(tenants.map((t) => t.name)).toContain('acme');

    const wrong = await maas(['login', '--url', url, '--api-key', 'maas_live_nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: Unauthorized: /);
    const apiLogin = await json(['login', '--url', url, '--api-key', key]);
    expect(apiLogin).toMatchObject({ credential: 'apiKey' });
  });

  it('uploads a model, lists and shows it, labels it and predicts from JSON, CSV and .npy', async () => {
    const file = join(dir, 'linear.onnx');
    await writeFile(file, buildGemmModel({ weights: GEMM_WEIGHTS, bias: GEMM_BIAS }));
    const upload = await maas(['models', 'upload', 'linear', file, '--json']);
    expect(upload.code, upload.stderr).toBe(0);
    expect(JSON.parse(upload.stdout)).toMatchObject({
      model: 'linear',
      version: 1,
      status: 'ready',
    });
    expect(upload.stderr).toContain('Created model linear');

    expect((await json<{ name: string }[]>(['models', 'list'])).map((m) => m.name)).toEqual([
      'linear',
    ]);
    const label = await json(['models', 'label', 'linear', 'production', '1']);
    expect(label).toMatchObject({ name: 'production', versions: { '1': 100 } });
    const shown = await json<{ labels: unknown; versions: { version: number }[] }>([
      'models',
      'show',
      'linear',
    ]);
    expect(shown.versions.map((v) => v.version)).toEqual([1]);
    expect(shown.labels).toEqual({ production: { versions: { '1': 100 } } });

    const row = [1, 2, 3, 4];
    const body = JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: row }],
    });
    const predicted = await json<{ outputs: { name: string; shape: number[]; data: number[] }[] }>([
      'predict',
      'linear',
      '--json',
      body,
    ]);
    expect(predicted.outputs[0]).toMatchObject({ name: 'output', shape: [1, 3] });
    predicted.outputs[0]!.data.forEach((v, i) => expect(v).toBeCloseTo(gemm(row)[i]!, 5));

    const table = await maas(['predict', 'linear', '--json', body]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[1]).toMatch(/^ROW\s+OUTPUT\[0\]\s+OUTPUT\[1\]\s+OUTPUT\[2\]$/);

    const csv = join(dir, 'rows.csv');
    await writeFile(csv, 'a,b,c,d\n1,2,3,4\n-1,0.5,0,2\n');
    const fromCsv = await json<{ outputs: { shape: number[]; data: number[] }[] }>([
      'predict',
      'linear',
      '--csv',
      csv,
      '--binary',
    ]);
    expect(fromCsv.outputs[0]!.shape).toEqual([2, 3]);
    [...gemm(row), ...gemm([-1, 0.5, 0, 2])].forEach((v, i) =>
      expect(fromCsv.outputs[0]!.data[i]).toBeCloseTo(v, 5),
    );

    const npy = join(dir, 'rows.npy');
    await writeFile(npy, npyFloat32([1, 4], row));
    const fromNpy = await json<{ outputs: { data: number[] }[] }>([
      'predict',
      'linear',
      '--input',
      npy,
    ]);
    fromNpy.outputs[0]!.data.forEach((v, i) => expect(v).toBeCloseTo(gemm(row)[i]!, 5));
  });

  it('uploads a dataset and trains with --wait: progress on stderr, the job on stdout', async () => {
    const csv = join(dir, 'iris.csv');
    await writeFile(csv, irisSplit().train);
    const dataset = await json<{ id: string; rows: number }>([
      'datasets',
      'upload',
      csv,
      '--name',
      'iris',
    ]);
    expect(dataset.rows).toBe(120);
    datasetId = dataset.id;
    expect((await json<{ id: string }[]>(['datasets', 'list'])).map((d) => d.id)).toEqual([
      datasetId,
    ]);

    // By name; the task follows from the target column (categorical: classification).
    const train = await maas([
      'train',
      '--dataset',
      'iris',
      '--target',
      'species',
      '--algorithm',
      'decision_tree',
      '--model',
      'iris',
      '--param',
      'criterion=gainRatio',
      '--wait',
      '--json',
    ]);
    expect(train.code, train.stderr).toBe(0);
    const job = JSON.parse(train.stdout) as { id: string; status: string; task: string };
    expect(job).toMatchObject({
      status: 'succeeded',
      task: 'classification',
      modelVersion: { model: 'iris', version: 1 },
    });
    expect(train.stderr).toMatch(/state\s+running/);
    expect(train.stderr).toMatch(/progress\s+tree grown/);

    const jobs = await json<{ id: string }[]>(['jobs', 'list']);
    expect(jobs.map((j) => j.id)).toEqual([job.id]);
    expect(await json(['jobs', 'show', job.id])).toMatchObject({ id: job.id, status: 'succeeded' });
    const logs = await maas(['jobs', 'logs', job.id]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/state\s+running \(attempt 1\)/);
    expect(logs.stdout.trim().split('\n').at(-1)).toMatch(/end\s+succeeded$/);
    const events = await json<{ type: string }[]>(['jobs', 'logs', job.id, '--follow']);
    expect(events.at(-1)!.type).toBe('end');

    const iris = await maas([
      'predict',
      'iris',
      '--json',
      JSON.stringify({
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
      }),
    ]);
    expect(iris.stdout).toMatch(/0\s+setosa/);
  });

  it('optimises a version into a new one with --wait, and refuses with exit 2 when asked nothing', async () => {
    const optimized = await maas([
      'models',
      'optimize',
      'linear',
      '1',
      '--quantize',
      'fp16',
      '--wait',
      '--json',
    ]);
    expect(optimized.code, optimized.stderr).toBe(0);
    expect(JSON.parse(optimized.stdout)).toMatchObject({
      algorithm: 'optimize',
      status: 'succeeded',
      modelVersion: { model: 'linear', version: 2 },
    });
    const shown = await json<{ versions: { version: number }[] }>(['models', 'show', 'linear']);
    expect(shown.versions.map((v) => v.version)).toEqual([1, 2]);
    const nothing = await maas(['models', 'optimize', 'linear', '1']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('give --quantize, --prune or both');
  });

  it('exits 1 when the trained job fails, printing the job’s error', async () => {
    // The tenant is at its model limit, so the trained version cannot be registered.
    const quotas = await json<{ effective: Record<string, number> }>([
      'admin',
      'quotas',
      'set',
      'acme',
      'maxModels=2',
    ]);
    expect(quotas.effective.maxModels).toBe(2);
    const failed = await maas([
      'train',
      '--dataset',
      datasetId,
      '--target',
      'species',
      '--algorithm',
      'decision_tree',
      '--model',
      'one-too-many',
      '--wait',
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^Job [0-9a-f-]{36} failed/);
    expect(failed.stderr).toMatch(/error: training job .* failed: model limit reached/);
  });

  it('shows usage by model, as a table and JSON', async () => {
    const usage = await waitFor(
      async () => {
        const answer = await json<{ items: { key: string; requests: number }[] }>([
          'usage',
          '--by',
          'model',
        ]);
        const linear = answer.items.find((i) => i.key === 'linear');
        return linear && linear.requests >= 4 ? answer : undefined;
      },
      15_000,
      'usage flushed',
    );
    expect(usage.items.map((i) => i.key)).toEqual(expect.arrayContaining(['linear', 'iris']));
    const table = await maas(['usage', '--by', 'model', '--from', '2020-01-01']);
    expect(table.stdout).toMatch(/MODEL\s+REQUESTS\s+ROWS\s+ERRORS\s+AVG MS/);
    expect(table.stdout).toMatch(/\ntotal\s+\d+/);
  });

  it('admin: sets quotas, suspends the tenant and revokes its key (exit 1 with the problem)', async () => {
    const quotas = await json<{ effective: Record<string, number> }>([
      'admin',
      'quotas',
      'set',
      'acme',
      'maxModels=7',
      'burst=null',
    ]);
    expect(quotas.effective.maxModels).toBe(7);
    const keys = await json<{ id: string; name: string }[]>(['admin', 'keys', 'list', tenantId]);
    const laptop = keys.find((k) => k.name === 'laptop')!;

    const suspended = await json<{ status: string }>(['admin', 'tenants', 'suspend', 'acme']);
    expect(suspended.status).toBe('suspended');
    const refused = await maas(['models', 'list', '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { status: 403 } });
    expect(refused.stderr).toMatch(/^error: Forbidden: .*\(request id [\w-]+\)\n$/);
    expect(
      (await json<{ status: string }>(['admin', 'tenants', 'activate', tenantId])).status,
    ).toBe('active');

    expect(await json(['admin', 'keys', 'revoke', 'acme', laptop.id])).toMatchObject({
      id: laptop.id,
    });
    await waitFor(
      async () => ((await maas(['models', 'list'])).code === 1 ? true : undefined),
      5_000,
      'revoked key refused',
    );
    // MAAS_API_KEY overrides the stored (revoked) key.
    const fresh = await json<{ key: string }>(['admin', 'keys', 'create', 'acme']);
    const viaEnv = await maas(['models', 'list', '--json'], { env: { MAAS_API_KEY: fresh.key } });
    expect(viaEnv.code).toBe(0);
    key = fresh.key;
  });

  it('exits 2 on usage errors and 1 on API errors, never with a stack', async () => {
    const usage = await maas(['predict', 'linear', '--csv']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--csv needs a value');
    const missing = await maas(['models', 'show', 'nope'], { env: { MAAS_API_KEY: key } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: Not Found: model 'nope' not found \(request id /);
    for (const run of [usage, missing]) expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('Ctrl-C during train --wait asks; yes cancels the job (exit 1), no leaves it running (130)', async () => {
    // Without a trainer the jobs stay queued, so they are still running when Ctrl-C comes.
    await platform.trainer.stop();
    const trainArgs = (model: string) => [
      'train',
      '--dataset',
      datasetId,
      '--target',
      'species',
      '--algorithm',
      'mlp',
      '--model',
      model,
      '--wait',
    ];
    for (const [answer, code, status] of [
      ['y', 1, 'cancelled'],
      ['n', 130, 'queued'],
    ] as const) {
      const child = start(trainArgs(`interrupted-${answer}`), { MAAS_API_KEY: key });
      const run = finish(child);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitFor(
        async () => (/state\s+queued/.test(stderr) ? true : undefined),
        10_000,
        'queued',
      );
      child.kill('SIGINT');
      await waitFor(
        async () => (stderr.includes('Cancel training job') ? true : undefined),
        5_000,
        'the question',
      );
      child.stdin!.end(`${answer}\n`);
      const result = await run;
      expect(result.code, result.stderr).toBe(code);
      const id = /Job ([0-9a-f-]{36})/.exec(result.stderr)![1]!;
      const job = await json<{ status: string }>(['jobs', 'show', id, '--api-key', key]);
      expect(job.status).toBe(status);
      if (answer === 'n') expect(result.stderr).toContain(`maas jobs logs ${id} --follow`);
    }
  });
});
