import { describe, expect, it } from 'vitest';
import { pathOf } from './request-path.js';

describe('pathOf', () => {
  it('drops the query string, from the first ? on', () => {
    expect(pathOf('/api/models?limit=5')).toBe('/api/models');
    expect(pathOf('/v1/models/m:predict?a=1?b=2')).toBe('/v1/models/m:predict');
    expect(pathOf('/api/models?')).toBe('/api/models');
    expect(pathOf('?x=1')).toBe('');
  });

  it('leaves a URL without a query as it is, encoding included', () => {
    expect(pathOf('/api/models')).toBe('/api/models');
    expect(pathOf('/v2/models/a%3Fb/infer')).toBe('/v2/models/a%3Fb/infer');
    expect(pathOf('/')).toBe('/');
    expect(pathOf('')).toBe('');
  });
});
