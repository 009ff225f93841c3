import { describe, expect, it } from 'vitest';
import { parseTfServingPath, tfServingVersionStatus } from './tf-serving.js';

describe('parseTfServingPath', () => {
  it('reads model, version or label, and the action, with keywords in any case', () => {
    expect(parseTfServingPath('iris')).toEqual({ model: 'iris' });
    expect(parseTfServingPath('iris/versions/3')).toEqual({ model: 'iris', version: '3' });
    expect(parseTfServingPath('iris/LABELS/canary/metadata')).toEqual({
      model: 'iris',
      label: 'canary',
      action: 'metadata',
    });
    expect(parseTfServingPath('iris/Versions/2:PREDICT')).toEqual({
      model: 'iris',
      version: '2',
      action: 'predict',
    });
    expect(parseTfServingPath('my%20model:predict')).toEqual({
      model: 'my model',
      action: 'predict',
    });
  });

  it('rejects what is no TF Serving route', () => {
    for (const path of ['', 'iris/versions', 'iris/other/1', 'iris:explain', 'iris/versions/1/x']) {
      expect(parseTfServingPath(path), path).toBeUndefined();
    }
  });

  it('maps version states as TF Serving names them', () => {
    expect(tfServingVersionStatus({ number: 1, status: 'ready', statusReason: null })).toEqual({
      version: '1',
      state: 'AVAILABLE',
      status: { error_code: 'OK', error_message: '' },
    });
    expect(
      tfServingVersionStatus({ number: 2, status: 'validating', statusReason: null }).state,
    ).toBe('LOADING');
    expect(
      tfServingVersionStatus({ number: 3, status: 'corrupt', statusReason: 'sha256 mismatch' }),
    ).toMatchObject({
      state: 'END',
      status: { error_code: 'UNKNOWN', error_message: 'sha256 mismatch' },
    });
  });
});
