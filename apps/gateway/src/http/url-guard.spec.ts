import { describe, expect, it } from 'vitest';
import { urlHasControlCharacter } from './url-guard.js';

describe('urlHasControlCharacter', () => {
  it('finds percent-encoded C0 controls and DEL in the path or the query', () => {
    for (const url of [
      '/api/models/%00',
      '/api/models/a%0ab',
      '/v2/models/%1F/ready',
      '/api/models?cursor=%7f',
      '/api/datasets?name=x%0D%0A',
    ]) {
      expect(urlHasControlCharacter(url), url).toBe(true);
    }
  });

  it('leaves other encodings alone, an encoded % followed by digits included', () => {
    for (const url of [
      '/api/models/linear',
      '/api/models/%2500',
      '/v2/models/my%20model',
      '/api/models?cursor=%C3%A9',
      '/api/models/%E2%80%8B',
    ]) {
      expect(urlHasControlCharacter(url), url).toBe(false);
    }
  });
});
