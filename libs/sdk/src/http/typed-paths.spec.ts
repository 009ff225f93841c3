import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Model, ModelVersion, Page } from '../types.js';
import { type ApiRequest, buildPath, type Operation, type SuccessJson } from './typed-paths.js';

describe('buildPath', () => {
  it('fills and encodes path parameters and writes the query, skipping undefined', () => {
    expect(
      buildPath(
        '/api/models/{name}/versions/{version}',
        { name: 'a b/c', version: 3 },
        { limit: 5, cursor: undefined, from: new Date('2026-01-02T03:04:05Z') },
      ),
    ).toBe('/api/models/a%20b%2Fc/versions/3?limit=5&from=2026-01-02T03%3A04%3A05.000Z');
    expect(buildPath('/api/models')).toBe('/api/models');
  });

  it('refuses a missing path parameter', () => {
    expect(() => buildPath('/api/models/{name}', {})).toThrow(/'name' is missing/);
  });
});

describe('route types from the OpenAPI document', () => {
  it('type answers and requests by route and method', () => {
    expectTypeOf<SuccessJson<Operation<'/api/models', 'post'>>>().toEqualTypeOf<Model>();
    expectTypeOf<SuccessJson<Operation<'/api/models/{name}/versions', 'get'>>>().toMatchTypeOf<
      Page<ModelVersion>
    >();
    expectTypeOf<
      SuccessJson<Operation<'/api/models/{name}', 'delete'>>
    >().toEqualTypeOf<undefined>();
    expectTypeOf<ApiRequest<Operation<'/api/models/{name}', 'get'>>['path']>().toEqualTypeOf<{
      name: string;
    }>();
    expectTypeOf<ApiRequest<Operation<'/api/models', 'post'>>['body']>().toMatchTypeOf<{
      name: string;
    }>();
    // @ts-expect-error a model needs a name
    const missing: ApiRequest<Operation<'/api/models', 'post'>> = { body: {} };
    expect(missing).toBeDefined();
  });
});
