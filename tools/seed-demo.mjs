// Creates the quick start's demo tenant, API key and model through the public API, then prints
// the key and a curl to paste. Safe to run again: it reuses what exists and makes a new key.
// Usage: node tools/seed-demo.mjs <gatewayUrl>   (reads MAAS_ADMIN_EMAIL / MAAS_ADMIN_PASSWORD)
import { buildGemmModel } from '@maas/onnx';

const gateway = process.argv[2] ?? 'http://127.0.0.1:3000';
const admin = { email: process.env.MAAS_ADMIN_EMAIL, password: process.env.MAAS_ADMIN_PASSWORD };

async function call(path, { method = 'GET', token, json, body, headers = {} } = {}) {
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers: {
      ...headers,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(json ? { 'content-type': 'application/json' } : {}),
    },
    body: json ? JSON.stringify(json) : body,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

function must(result, ...ok) {
  if (!ok.includes(result.status)) {
    throw new Error(`unexpected ${result.status}: ${JSON.stringify(result.body)}`);
  }
  return result.body;
}

const { accessToken } = must(await call('/api/auth/login', { method: 'POST', json: admin }), 200);
let tenant = await call('/api/admin/tenants', {
  method: 'POST',
  token: accessToken,
  json: { name: 'demo' },
});
if (tenant.status === 409) {
  const list = must(await call('/api/admin/tenants?limit=200', { token: accessToken }), 200);
  tenant = { body: list.items.find((t) => t.name === 'demo') };
} else must(tenant, 201);
const { key } = must(
  await call(`/api/admin/tenants/${tenant.body.id}/api-keys`, {
    method: 'POST',
    token: accessToken,
    json: { name: `quick start ${new Date().toISOString()}` },
  }),
  201,
);
must(
  await call('/api/models', {
    method: 'POST',
    token: key,
    json: { name: 'demo-linear', description: 'y = xW + b, 4 features -> 3 outputs' },
  }),
  201,
  409,
);
const versions = must(await call('/api/models/demo-linear/versions', { token: key }), 200);
if (!versions.items.some((v) => v.status === 'ready')) {
  const weights = [
    [1, 0, 0.5],
    [0, 1, -1],
    [2, 0, 0],
    [0, -3, 1],
  ];
  must(
    await call('/api/models/demo-linear/versions', {
      method: 'POST',
      token: key,
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(buildGemmModel({ weights, bias: [0.5, -0.5, 2] })),
    }),
    201,
  );
}

const body = JSON.stringify({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});
process.stdout.write(`
  maas is up.
    gateway     ${gateway}
    admin       ${admin.email} / ${admin.password}
    tenant      demo (${tenant.body.id})
    API key     ${key}

  Try an inference:
    curl -s ${gateway}/v2/models/demo-linear/infer \\
      -H 'x-api-key: ${key}' -H 'content-type: application/json' \\
      -d '${body}'

`);
