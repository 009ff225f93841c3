import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PrismaService } from '@maas/db';
import {
  type OnnxGraph,
  TensorDataType,
  attribute,
  buildGemmModel,
  buildModel,
  externalDataTensor,
  encodeModel,
  node,
  valueInfo,
} from '@maas/onnx';
import {
  REPO_ROOT,
  buildTfjsArchive,
  createTenantWithKey,
  gatewayFetch,
  startTestPlatform,
  type JsonRequest,
  type TestPlatform,
} from '@maas/testing';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plantReadyVersion } from './planted-version-helpers.js';

const SELF_CONTAINED =
  'stores its data outside the model (external data); models must be self-contained';

const x4 = valueInfo('x', TensorDataType.FLOAT, [4]);
const out4 = valueInfo('out', TensorDataType.FLOAT, [4]);

/** out = x + W, W from `location`: the leak a worker would serve as its output. */
const initializerModel = (location: string) =>
  encodeModel(
    buildModel({
      graph: {
        nodes: [node('Add', ['x', 'W'], ['out'])],
        initializers: [externalDataTensor('W', location)],
        inputs: [x4],
        outputs: [out4],
      },
    }),
  );

/** out = x + k, where k is a Constant node whose value tensor lives at `location`. */
const constantModel = (location: string) =>
  encodeModel(
    buildModel({
      graph: {
        nodes: [
          {
            ...node('Constant', [], ['k'], {
              value: attribute.tensor(externalDataTensor('k', location)),
            }),
            name: 'leak',
          },
          node('Add', ['x', 'k'], ['out']),
        ],
        inputs: [x4],
        outputs: [out4],
      },
    }),
  );

/** out = cond ? <Constant at `location`> : x, the external tensor inside the then branch. */
function ifBranchModel(location: string): Uint8Array {
  const branch = (name: string, nodes: OnnxGraph['node']): OnnxGraph => ({
    name,
    node: nodes,
    initializer: [],
    input: [],
    output: [valueInfo(`${name}_out`, TensorDataType.FLOAT, [4])],
  });
  return encodeModel(
    buildModel({
      graph: {
        nodes: [
          {
            ...node('If', ['cond'], ['out'], {
              then_branch: attribute.graph(
                branch('then', [
                  {
                    ...node('Constant', [], ['then_out'], {
                      value: attribute.tensor(externalDataTensor('k', location)),
                    }),
                    name: 'inner',
                  },
                ]),
              ),
              else_branch: attribute.graph(branch('else', [node('Identity', ['x'], ['else_out'])])),
            }),
            name: 'choose',
          },
        ],
        inputs: [valueInfo('cond', TensorDataType.BOOL, []), x4],
        outputs: [out4],
      },
    }),
  );
}

describe('hostile models: a tenant model never reads the platform’s files', () => {
  let platform: TestPlatform;
  let tenant: { tenantId: string; key: string };
  let api: (path: string, init?: JsonRequest) => Promise<Response>;
  let prisma: PrismaService;
  /** Random bytes planted in files the apps could reach; they must never come back. */
  const marker = randomBytes(24).toString('hex');
  let secretDirectory: string;
  let absoluteSecret: string;
  /** Relative to the repo root, the directory the apps are started from. */
  let relativeSecret: string;
  let cwdSecretDirectory: string;
  const answers: string[] = [];

  const upload = async (model: string, body: Uint8Array, format = 'onnx') => {
    await api('/api/models', { method: 'POST', json: { name: model } });
    const response = await api(`/api/models/${model}/versions?format=${format}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(body),
    });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  };

  const infer = async (path: string) => {
    const response = await api(`/v2/models/${path}/infer`, {
      method: 'POST',
      json: { inputs: [{ name: 'x', datatype: 'FP32', shape: [4], data: [0, 0, 0, 0] }] },
    });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  };

  beforeAll(async () => {
    secretDirectory = await mkdtemp(join(tmpdir(), 'maas-hostile-'));
    absoluteSecret = join(secretDirectory, 'secret.env');
    await writeFile(absoluteSecret, `MAAS_ADMIN_PASSWORD=${marker}\n`);
    await mkdir(join(REPO_ROOT, 'tmp'), { recursive: true });
    cwdSecretDirectory = await mkdtemp(join(REPO_ROOT, 'tmp', 'hostile-models-'));
    await writeFile(join(cwdSecretDirectory, 'dev.env'), `JWT_SECRET=${marker}\n`);
    relativeSecret = relative(REPO_ROOT, join(cwdSecretDirectory, 'dev.env'));

    platform = await startTestPlatform();
    tenant = await createTenantWithKey(platform, 'hostile');
    api = (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('x-api-key', tenant.key);
      return gatewayFetch(platform, path, { ...init, headers });
    };
    prisma = new PrismaService({ databaseUrl: platform.database.url });
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await platform?.stop();
    await rm(secretDirectory, { recursive: true, force: true });
    await rm(cwdSecretDirectory, { recursive: true, force: true });
  });

  it('refuses external-data models at upload (422): initializer, Constant attribute, If branch', async () => {
    const cases: [string, Uint8Array, string][] = [
      ['leak-initializer', initializerModel(relativeSecret), `initializer 'W' in graph 'main'`],
      [
        'leak-constant',
        constantModel(absoluteSecret),
        `attribute 'value' of node 'leak' (Constant) in graph 'main'`,
      ],
      [
        'leak-branch',
        ifBranchModel(relativeSecret),
        `attribute 'value' of node 'inner' (Constant) in graph 'then' (attribute 'then_branch' of node 'choose' (If) in graph 'main')`,
      ],
    ];
    for (const [model, bytes, holder] of cases) {
      const { status, body } = await upload(model, bytes);
      expect(status, model).toBe(422);
      expect(body.detail, model).toBe(`${holder} ${SELF_CONTAINED}`);
      const versions = (await (await api(`/api/models/${model}/versions`)).json()) as {
        items: { status: string; statusReason: string }[];
      };
      expect(versions.items).toEqual([
        expect.objectContaining({ status: 'failed', statusReason: `${holder} ${SELF_CONTAINED}` }),
      ]);
    }
  });

  it('refuses at load a version planted in storage as ready, and never serves the file', async () => {
    // A version stored before the check existed: bytes written as the registry writes them
    // (encrypted under the tenant's data key, sha256 of the plaintext recorded), row ready.
    expect(
      (await upload('planted', buildGemmModel({ weights: [[1, 0, 0, 0]], bias: [0, 0, 0, 0] })))
        .status,
    ).toBe(201);
    const { number, artifactKey } = await plantReadyVersion(platform, prisma, {
      tenantId: tenant.tenantId,
      model: 'planted',
      number: 2,
      plaintext: Buffer.from(initializerModel(relativeSecret)),
      inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
      outputs: [{ name: 'out', datatype: 'FP32', shape: [4] }],
    });

    const first = await infer(`planted/versions/${number}`);
    expect(first.status).toBe(422);
    expect(first.body).toEqual({
      error: `version ${number} cannot be served: initializer 'W' in graph 'main' ${SELF_CONTAINED}`,
    });
    // Marked failed with the reason: it stops resolving (a cached resolution may still retry
    // the load once, which is refused the same way).
    const version = await prisma.modelVersion.findFirstOrThrow({ where: { artifactKey } });
    expect(version).toMatchObject({
      status: 'failed',
      statusReason: `initializer 'W' in graph 'main' ${SELF_CONTAINED}`,
    });
    const again = await infer(`planted/versions/${number}`);
    expect([404, 422]).toContain(again.status);
    // The healthy version still serves.
    const healthy = await api('/v2/models/planted/versions/1/infer', {
      method: 'POST',
      json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1], data: [2] }] },
    });
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toMatchObject({ outputs: [{ data: [2, 0, 0, 0] }] });

    const refusedLog = platform.inference
      .logLines()
      .find((line) => line.msg === 'model version refused at load');
    expect(refusedLog).toMatchObject({ versionId: version.id });
  });

  it('refuses a node of an operator domain onnxruntime does not ship (422)', async () => {
    const custom = encodeModel(
      buildModel({
        graph: {
          nodes: [{ ...node('ReadFile', ['x'], ['out'], {}, 'evil.custom'), name: 'steal' }],
          inputs: [x4],
          outputs: [out4],
        },
        opsets: { '': 17, 'evil.custom': 1 },
      }),
    );
    const { status, body } = await upload('custom-domain', custom);
    expect(status).toBe(422);
    expect(body.detail).toMatch(
      /^node 'steal' \(ReadFile\) in graph 'main' uses operator domain 'evil.custom'; only the ai.onnx, ai.onnx.ml and com.microsoft operator sets/,
    );
  });

  it('refuses a TF.js archive whose manifest names a path outside the archive (422)', async () => {
    const files = unzipSync(await buildTfjsArchive());
    const modelJson = JSON.parse(strFromU8(files['model.json']!));
    modelJson.weightsManifest[0].paths = ['../../secret'];
    files['model.json'] = strToU8(JSON.stringify(modelJson));
    const { status, body } = await upload('tfjs-escape', zipSync(files), 'tfjs');
    expect(status).toBe(422);
    expect(body.detail).toMatch(
      /^weightsManifest\[0\]\.paths\[0\] \('\.\.\/\.\.\/secret'\) has a '\.\.' segment/,
    );
  });

  it('runs the worker and the gateway in an empty, read-only working directory', async () => {
    for (const app of [platform.inference, platform.gateway]) {
      const cwd = await readlink(`/proc/${app.pid}/cwd`);
      expect(cwd, app.name).not.toBe(REPO_ROOT.replace(/\/$/, ''));
      expect(cwd, app.name).toMatch(/\/maas-cwd-[^/]+$/);
      expect(await readdir(cwd), app.name).toEqual([]);
      expect((await stat(cwd)).mode & 0o777, app.name).toBe(0o555);
      const logged = app
        .logLines()
        .find((line) => line.msg === 'working directory is an empty sandbox');
      expect(logged, app.name).toMatchObject({ cwd });
    }
  });

  it('never let the planted secret out: no answer and no log line carries it', () => {
    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) expect(answer).not.toContain(marker);
    for (const logs of [platform.gateway.logs, platform.inference.logs]) {
      expect(logs).not.toContain(marker);
      // Nor the locations the models named.
      expect(logs).not.toContain('dev.env');
      expect(logs).not.toContain('secret.env');
    }
  });
});
