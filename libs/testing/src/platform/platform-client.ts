import type { TestPlatform } from './test-platform.js';

export interface JsonRequest extends RequestInit {
  json?: unknown;
}

export type JsonApi = (path: string, init?: JsonRequest) => Promise<Response>;

/** fetch against one base URL, with a `json` shorthand for JSON bodies. */
export function jsonApi(baseUrl: string): JsonApi {
  return (path, init = {}) => {
    const headers = new Headers(init.headers);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(`${baseUrl}${path}`, { ...init, headers, body });
  };
}

/** fetch against the gateway, with a `json` shorthand for JSON bodies. */
export function gatewayFetch(
  platform: TestPlatform,
  path: string,
  init: JsonRequest = {},
): Promise<Response> {
  return jsonApi(platform.gateway.url)(path, init);
}

async function expectStatus(response: Response, status: number): Promise<unknown> {
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : undefined;
}

export async function adminToken(platform: TestPlatform): Promise<string> {
  const body = (await expectStatus(
    await gatewayFetch(platform, '/api/auth/login', { method: 'POST', json: platform.admin }),
    200,
  )) as { accessToken: string };
  return body.accessToken;
}

/** A new tenant and an API key with all scopes (or the given ones). */
export async function createTenantWithKey(
  platform: TestPlatform,
  name: string,
  options: { token?: string; scopes?: string[] } = {},
): Promise<{ tenantId: string; key: string; keyId: string }> {
  const token = options.token ?? (await adminToken(platform));
  const auth = { authorization: `Bearer ${token}` };
  const tenant = (await expectStatus(
    await gatewayFetch(platform, '/api/admin/tenants', {
      method: 'POST',
      headers: auth,
      json: { name },
    }),
    201,
  )) as { id: string };
  const key = (await expectStatus(
    await gatewayFetch(platform, `/api/admin/tenants/${tenant.id}/api-keys`, {
      method: 'POST',
      headers: auth,
      json: { name: 'test', ...(options.scopes ? { scopes: options.scopes } : {}) },
    }),
    201,
  )) as { id: string; key: string };
  return { tenantId: tenant.id, key: key.key, keyId: key.id };
}

/** Creates the model if needed and uploads `artifact` as its next version; returns the version. */
export async function uploadModelVersion(
  platform: TestPlatform,
  apiKey: string,
  modelName: string,
  artifact: Uint8Array,
  format = 'onnx',
): Promise<{ version: number; [field: string]: unknown }> {
  const created = await gatewayFetch(platform, '/api/models', {
    method: 'POST',
    headers: { 'x-api-key': apiKey },
    json: { name: modelName },
  });
  if (created.status !== 201 && created.status !== 409) await expectStatus(created, 201);
  return (await expectStatus(
    await gatewayFetch(platform, `/api/models/${modelName}/versions?format=${format}`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/octet-stream' },
      body: Buffer.from(artifact),
    }),
    201,
  )) as { version: number };
}
