import { readFile, writeFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { API_VERSION } from './docs.controller.js';
import {
  buildOpenApiDocument,
  openApiPath,
  routesOfSpecs,
  undocumentedRoutes,
} from './openapi.document.js';

const COMMITTED = new URL('../../../../docs/openapi.json', import.meta.url);

type Operation = {
  parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  security: unknown[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
};

function operation(
  document: ReturnType<typeof buildOpenApiDocument>,
  method: string,
  path: string,
) {
  return document.paths[path][method] as Operation;
}

describe('OpenAPI document', () => {
  const document = buildOpenApiDocument(routesOfSpecs(), API_VERSION);

  it('turns Fastify params into OpenAPI path templates', () => {
    expect(openApiPath('/api/models/:name/versions/:version')).toBe(
      '/api/models/{name}/versions/{version}',
    );
  });

  it('lists every route with its path parameters and the right security', () => {
    const small = buildOpenApiDocument(
      [
        { method: 'POST', url: '/v2/models/:model/infer' },
        { method: 'GET', url: '/api/admin/tenants' },
        { method: 'GET', url: '/healthz' },
      ],
      '1.0.0',
    );
    const infer = operation(small, 'post', '/v2/models/{model}/infer');
    expect(infer.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(['model']);
    expect(infer.security).toEqual([{ apiKey: [] }, { bearerApiKey: [] }]);
    expect(operation(small, 'get', '/api/admin/tenants').security).toEqual([{ adminJwt: [] }]);
    expect(operation(small, 'get', '/healthz').security).toEqual([]);
  });

  it('describes bodies and queries with the schemas the routes validate with', () => {
    const login = operation(document, 'post', '/api/auth/login');
    expect(login.requestBody?.content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { email: { type: 'string', maxLength: 320 }, password: { type: 'string' } },
      required: ['email', 'password'],
    });
    const upload = operation(document, 'post', '/api/models/{name}/versions');
    const format = upload.parameters.find((p) => p.name === 'format');
    expect(format).toMatchObject({ in: 'query', required: false });
    expect(format?.schema).toMatchObject({ enum: ['onnx', 'tfjs'], default: 'onnx' });
    expect(Object.keys(upload.requestBody?.content ?? {})).toEqual([
      'application/octet-stream',
      'multipart/form-data',
    ]);
  });

  it('answers errors as problem+json under /api and as {error} on the inference protocols', () => {
    const model = operation(document, 'get', '/api/models/{name}');
    expect(Object.keys(model.responses)).toEqual(
      expect.arrayContaining(['200', '401', '403', '404', '429', '503']),
    );
    expect(model.responses['404'].content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetails' } },
    });
    const infer = operation(document, 'post', '/v2/models/{model}/infer');
    expect(infer.responses['404'].content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/InferenceError' } },
    });
  });

  it('describes the binary tensor extension of the v2 infer routes', () => {
    const infer = operation(document, 'post', '/v2/models/{model}/versions/{version}/infer');
    expect(infer.parameters.map((p) => p.name)).toContain('Inference-Header-Content-Length');
    expect(Object.keys(infer.requestBody?.content ?? {})).toEqual([
      'application/json',
      'application/octet-stream',
    ]);
    expect(document.components.schemas).toHaveProperty('V2InferenceRequest');
    expect(document.components.schemas).toHaveProperty('TfServingPredictRequest');
  });

  it('leaves no route undocumented', () => {
    expect(undocumentedRoutes([{ method: 'GET', url: '/api/made-up' }])).toHaveLength(1);
    expect(undocumentedRoutes(routesOfSpecs())).toEqual([]);
    // Every /api operation has a success answer with a schema or says it has no body.
    for (const [path, methods] of Object.entries(document.paths)) {
      if (!path.startsWith('/api')) continue;
      for (const op of Object.values(methods) as Operation[]) {
        const success = Object.entries(op.responses).filter(([status]) => status < '300');
        expect(success.length, path).toBeGreaterThan(0);
        for (const [status, response] of success) {
          expect(status === '204' || response.content !== undefined, `${path} ${status}`).toBe(
            true,
          );
        }
      }
    }
  });

  it('defines every named schema by its body, never as a pointer to itself', () => {
    const schemas = document.components.schemas as Record<string, Record<string, unknown>>;
    for (const [name, schema] of Object.entries(schemas)) {
      expect(schema.$ref, name).not.toBe(`#/components/schemas/${name}`);
    }
    expect(schemas.Usage).toMatchObject({
      type: 'object',
      required: ['from', 'to', 'totals', 'items'],
    });
  });

  it('gives every operation an id of its own (client generators key methods by it)', () => {
    const ids = Object.values(document.paths).flatMap((methods) =>
      Object.values(methods).map((op) => (op as { operationId: string }).operationId),
    );
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(operation(document, 'get', '/console/*')).toMatchObject({ security: [] });
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(JSON.parse(JSON.stringify(document)));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  // `npm run openapi:write` regenerates the committed file; CI fails while it differs.
  it('matches the committed docs/openapi.json', async () => {
    const generated = `${JSON.stringify(document, null, 2)}\n`;
    if (process.env.OPENAPI_WRITE === '1') await writeFile(COMMITTED, generated);
    expect(JSON.parse(await readFile(COMMITTED, 'utf8'))).toEqual(JSON.parse(generated));
  });
});
