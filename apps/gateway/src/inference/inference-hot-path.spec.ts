import { describe, expect, it } from 'vitest';
import { inferenceRouteOf } from './inference-hot-path.js';

describe('inferenceRouteOf', () => {
  it('takes the POST inference routes, named by their templates', () => {
    expect(inferenceRouteOf('POST', '/v2/models/m/infer')?.template).toBe(
      '/v2/models/:model/infer',
    );
    expect(inferenceRouteOf('POST', '/v2/models/m/versions/2/infer?x=1')?.template).toBe(
      '/v2/models/:model/versions/:version/infer',
    );
    expect(inferenceRouteOf('POST', '/v1/models/m/labels/prod:PREDICT')?.template).toBe(
      '/v1/models/*',
    );
  });

  it('leaves everything else to the router', () => {
    for (const [method, url] of [
      ['GET', '/v2/models/m/infer'],
      ['HEAD', '/v1/models/m:predict'],
      ['POST', '/v2/models/m'],
      ['POST', '/v2/models/m/infer/'],
      ['POST', '/v2/models//infer'],
      ['POST', '/api/models/m/infer'],
      ['POST', '/v1/models/'],
      ['POST', '/V2/models/m/infer'],
    ] as const) {
      expect(inferenceRouteOf(method, url), `${method} ${url}`).toBeUndefined();
    }
  });

  it('reads the model, version or label and the call off the URL', () => {
    expect(inferenceRouteOf('POST', '/v2/models/my%20model/infer')!.target()).toEqual({
      model: 'my model',
      selector: {},
      call: 'infer',
    });
    expect(inferenceRouteOf('POST', '/v2/models/m/versions/12/infer')!.target()).toEqual({
      model: 'm',
      selector: { version: 12 },
      call: 'infer',
    });
    expect(inferenceRouteOf('POST', '/v1/models/m/labels/prod:predict')!.target()).toEqual({
      model: 'm',
      selector: { label: 'prod' },
      call: 'predict',
    });
    expect(inferenceRouteOf('POST', '/v1/models/m/versions/3:predict?a=b')!.target()).toEqual({
      model: 'm',
      selector: { version: 3 },
      call: 'predict',
    });
  });

  it('answers URLs it cannot serve with the protocols’ 4xx/5xx codes', () => {
    const codeOf = (url: string) => {
      try {
        inferenceRouteOf('POST', url)!.target();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return 'no error';
    };
    expect(codeOf('/v2/models/m/versions/0/infer')).toBe('INVALID_ARGUMENT');
    expect(codeOf('/v2/models/m/versions/x/infer')).toBe('INVALID_ARGUMENT');
    expect(codeOf('/v2/models/%E0%A4%A/infer')).toBe('INVALID_ARGUMENT');
    // A control character never names a model (PostgreSQL refuses a NUL byte outright).
    expect(codeOf('/v2/models/%00/infer')).toBe('INVALID_ARGUMENT');
    expect(codeOf('/v2/models/a%1Fb/versions/1/infer')).toBe('INVALID_ARGUMENT');
    expect(codeOf('/v2/models/m/versions/%7F/infer')).toBe('INVALID_ARGUMENT');
    expect(codeOf('/v1/models/m:classify')).toBe('UNIMPLEMENTED');
    expect(codeOf('/v1/models/m/metadata')).toBe('NOT_FOUND');
    expect(codeOf('/v1/models/m')).toBe('NOT_FOUND');
  });
});
