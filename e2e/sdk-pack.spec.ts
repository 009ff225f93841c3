import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildGemmModel } from '@maas/onnx';
import { REPO_ROOT, startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemm, GEMM_BIAS, GEMM_WEIGHTS } from './serving-helpers.js';

// @maas/sdk as someone outside the monorepo gets it: `npm pack` of libs/sdk (built by
// tools/build.mjs, which the e2e tier runs first), installed offline into a new project (the
// package has no dependencies, so no registry is needed), then used from plain ESM against
// the running platform and type-checked by a project with browser types and no Node types.

const run = promisify(execFile);
const SDK = join(REPO_ROOT, 'libs/sdk');

/** npm's environment without the variables of the npm that may have started the tests. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)),
  ) as NodeJS.ProcessEnv;
}

const CHECK_MJS = `
import { readFileSync } from 'node:fs';
import { MaasApiError, MaasClient } from '@maas/sdk';

const [url, email, password, modelFile] = process.argv.slice(2);
const admin = new MaasClient({ baseUrl: url });
await admin.auth.login(email, password);
const tenant = await admin.admin.tenants.create('packed');
const { key } = await admin.admin.keys.create(tenant.id, { name: 'packed' });
const maas = new MaasClient({ baseUrl: url, apiKey: key });
await maas.models.create({ name: 'linear' });
const version = await maas.models.versions.upload('linear', new Uint8Array(readFileSync(modelFile)));
const input = { input: { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] } };
const json = await maas.inference.infer('linear', input);
const binary = await maas.inference.infer('linear', input, { binary: true });
const missing = await maas.models.get('nope').catch((error) => error);
console.log(JSON.stringify({
  version: version.version,
  status: version.status,
  json: Array.from(json.output('output').data),
  binary: Array.from(binary.output('output').data),
  typedError: missing instanceof MaasApiError && missing.status === 404 && Boolean(missing.requestId),
}));
`;

const CHECK_TS = `
import { MaasApiError, MaasClient, type TensorOutput, type TrainingEvent } from '@maas/sdk';

export async function check(url: string): Promise<number> {
  const maas = new MaasClient({ baseUrl: url, apiKey: 'key' });
  const model = await maas.models.create({ name: 'x' });
  const name: string = model.name;
  const result = await maas.inference.infer('x', { input: new Float32Array([1, 2]) });
  const output: TensorOutput = result.output('y');
  if (output.datatype === 'INT64') {
    const exact: BigInt64Array = output.data;
    return exact.length;
  }
  for await (const event of maas.training.events('id')) {
    const e: TrainingEvent = event;
    if (e.type === 'end') return e.data.trainingSeconds;
  }
  // @ts-expect-error a model needs a name: the types come from the OpenAPI document
  await maas.models.create({ description: 'nameless' });
  try {
    await maas.models.get(name);
  } catch (error) {
    if (error instanceof MaasApiError) return error.status;
  }
  return 0;
}
`;

describe('the packed @maas/sdk in a project of its own', () => {
  let platform: TestPlatform;
  let dir: string;
  let tarball: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maas-sdk-pack-'));
    platform = await startTestPlatform();
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('packs built JavaScript, declarations and the README, no sources or specs', async () => {
    // --ignore-scripts: dist/ is already built; prepack would rebuild it under running tests.
    const { stdout } = await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
      { cwd: SDK, env: npmEnv() },
    );
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, packed!.filename);
    const files = packed!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/client.js',
        'dist/generated/openapi.d.ts',
      ]),
    );
    expect(files.filter((f) => !/\.(js|d\.ts)$/.test(f))).toEqual(['README.md', 'package.json']);
    expect(files.some((f) => f.startsWith('src/') || f.includes('.spec.'))).toBe(false);
  });

  it('installs offline, calls the platform from ESM and type-checks with browser types', async () => {
    const project = join(dir, 'consumer');
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
    );
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: project,
      env: npmEnv(),
    });

    const modelFile = join(project, 'linear.onnx');
    await writeFile(modelFile, buildGemmModel({ weights: GEMM_WEIGHTS, bias: GEMM_BIAS }));
    await writeFile(join(project, 'check.mjs'), CHECK_MJS);
    const { stdout } = await run(
      process.execPath,
      ['check.mjs', platform.gateway.url, platform.admin.email, platform.admin.password, modelFile],
      { cwd: project },
    );
    const answer = JSON.parse(stdout) as {
      version: number;
      status: string;
      json: number[];
      binary: number[];
      typedError: boolean;
    };
    expect(answer).toMatchObject({ version: 1, status: 'ready', typedError: true });
    for (const values of [answer.json, answer.binary]) {
      values.forEach((v, i) => expect(v).toBeCloseTo(gemm([1, 2, 3, 4])[i]!, 5));
    }

    // The shipped declarations stand alone: strict, DOM types, no @types/node, libs checked.
    await writeFile(join(project, 'check.ts'), CHECK_TS);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          types: [],
          skipLibCheck: false,
        },
        files: ['check.ts'],
      }),
    );
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const checked = await run(process.execPath, [tsc, '-p', project]).then(
      () => 'ok',
      (error: { stdout: string }) => error.stdout,
    );
    expect(checked).toBe('ok');
  });
});
