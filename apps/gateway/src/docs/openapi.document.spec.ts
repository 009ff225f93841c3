import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, openApiPath } from './openapi.document.js';

describe('OpenAPI document', () => {
  it('turns Fastify params into OpenAPI path templates', () => {
    expect(openApiPath('/api/models/:name/versions/:version')).toBe(
      '/api/models/{name}/versions/{version}',
    );
  });

  it('lists every route with its path parameters and the right security', () => {
    const document = buildOpenApiDocument(
      [
        { method: 'POST', url: '/v2/models/:model/infer' },
        { method: 'GET', url: '/api/admin/tenants' },
        { method: 'GET', url: '/healthz' },
      ],
      '1.0.0',
    );
    const infer = document.paths['/v2/models/{model}/infer'].post as {
      parameters: { name: string }[];
      security: unknown[];
    };
    expect(infer.parameters.map((p) => p.name)).toEqual(['model']);
    expect(infer.security).toEqual([{ apiKey: [] }, { bearerApiKey: [] }]);
    expect((document.paths['/api/admin/tenants'].get as { security: unknown[] }).security).toEqual([
      { adminJwt: [] },
    ]);
    expect((document.paths['/healthz'].get as { security: unknown[] }).security).toEqual([]);
  });
});
