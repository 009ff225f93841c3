import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { S3ObjectStore } from '@maas/model-registry';
import { buildGemmModel } from '@maas/onnx';
import {
  adminToken,
  createTenantWithKey,
  gatewayFetch,
  REPO_ROOT,
  startS3rver,
  startTestPlatform,
  type S3rverProcess,
  type TestPlatform,
} from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GEMM_BIAS as B, GEMM_WEIGHTS as W, gemm } from './serving-helpers.js';

const ROW = [1, 2, 3, 4];
const EXPECTED = gemm(ROW);

describe('registry and serving on the S3 driver (s3rver), encrypted, with key rotation', () => {
  let s3: S3rverProcess;
  let platform: TestPlatform;
  let bucket: S3ObjectStore;
  let tenant: { tenantId: string; key: string };
  const newMasterKey = randomBytes(32).toString('base64');

  const api = (path: string, init: Parameters<typeof gatewayFetch>[2] = {}) => {
    const headers = new Headers(init.headers);
    headers.set('x-api-key', tenant.key);
    return gatewayFetch(platform, path, { ...init, headers });
  };
  const inferOutput = async (path: string) => {
    const response = await api(`/v2/models/${path}/infer`, {
      method: 'POST',
      json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: ROW }] },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return ((await response.json()) as { outputs: { data: number[] }[] }).outputs[0].data;
  };

  beforeAll(async () => {
    s3 = await startS3rver('maas-e2e');
    platform = await startTestPlatform({
      env: { gateway: s3.env, inference: s3.env, trainer: s3.env },
    });
    bucket = new S3ObjectStore({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: s3.bucket,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
    tenant = await createTenantWithKey(platform, 's3-tenant');
  });

  afterAll(async () => {
    bucket?.destroy();
    await platform?.stop();
    await s3?.stop();
  });

  it('uploads to the bucket, encrypted, and serves the right numbers from it', async () => {
    expect((await api('/api/models', { method: 'POST', json: { name: 'linear' } })).status).toBe(
      201,
    );
    const plaintext = Buffer.from(buildGemmModel({ weights: W, bias: B }));
    const upload = await api('/api/models/linear/versions', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: plaintext,
    });
    expect(upload.status).toBe(201);
    expect(await upload.json()).toMatchObject({ version: 1, status: 'ready', encrypted: true });

    const keys = await bucket.list(`tenants/${tenant.tenantId}`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^tenants\/[0-9a-f-]+\/models\/[0-9a-f-]+\/versions\/1\/model\.onnx$/);
    const stored = await bucket.getBuffer(keys[0]);
    expect(stored.includes(plaintext.subarray(0, 64))).toBe(false);
    expect(stored.includes(plaintext.subarray(plaintext.length - 64))).toBe(false);

    const output = await inferOutput('linear/versions/1');
    output.forEach((value, i) => expect(value).toBeCloseTo(EXPECTED[i], 5));
  });

  it('rotates the master key with the CLI; a restarted worker still loads the artifact', async () => {
    const before = await bucket.getBuffer((await bucket.list(`tenants/${tenant.tenantId}`))[0]);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['libs/model-registry/dist/rotate-master-key.cli.js'],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: platform.database.url,
          NEW_MASTER_KEY: newMasterKey,
          NEW_MASTER_KEY_ID: 'rotated-1',
        },
      },
    );
    expect(stdout).toMatch(/1 data key\(s\) re-wrapped from 'dev' to 'rotated-1'/);
    // The artifact itself was not rewritten.
    expect(await bucket.getBuffer((await bucket.list(`tenants/${tenant.tenantId}`))[0])).toEqual(
      before,
    );

    await platform.inference.stop();
    Object.assign(platform.inference.env, {
      MASTER_KEY: newMasterKey,
      MASTER_KEY_ID: 'rotated-1',
    });
    await platform.inference.start();
    const output = await inferOutput('linear/versions/1');
    output.forEach((value, i) => expect(value).toBeCloseTo(EXPECTED[i], 5));
  });

  it('removes a deleted model’s and a deleted tenant’s bytes from the bucket', async () => {
    await api('/api/models', { method: 'POST', json: { name: 'second' } });
    const body = Buffer.from(buildGemmModel({ weights: W, bias: [0, 0, 0] }));
    for (let i = 0; i < 2; i++) {
      const response = await api('/api/models/second/versions', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body,
      });
      expect(response.status).toBe(201);
    }
    expect(await bucket.list(`tenants/${tenant.tenantId}`)).toHaveLength(3);
    expect((await api('/api/models/linear', { method: 'DELETE' })).status).toBe(204);
    const left = await bucket.list(`tenants/${tenant.tenantId}`);
    expect(left).toHaveLength(2);
    expect(
      (await api('/v2/models/linear/versions/1/infer', { method: 'POST', json: {} })).status,
    ).toBe(404);

    const token = await adminToken(platform);
    const removed = await gatewayFetch(platform, `/api/admin/tenants/${tenant.tenantId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(removed.status).toBeLessThan(300);
    expect(await bucket.list(`tenants/${tenant.tenantId}`)).toEqual([]);
  });
});
