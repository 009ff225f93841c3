import { describe, expect, it } from 'vitest';
import {
  datasetKey,
  modelArtifactKey,
  modelPrefix,
  modelVersionPrefix,
  tenantPrefix,
} from './storage-keys.js';

describe('storage keys', () => {
  it('follows the documented layout', () => {
    expect(tenantPrefix('t1')).toBe('tenants/t1/');
    expect(modelPrefix('t1', 'm1')).toBe('tenants/t1/models/m1/');
    expect(modelVersionPrefix('t1', 'm1', 3)).toBe('tenants/t1/models/m1/versions/3/');
    expect(modelArtifactKey('t1', 'm1', 3, 'model.onnx')).toBe(
      'tenants/t1/models/m1/versions/3/model.onnx',
    );
    expect(datasetKey('t1', 'd1')).toBe('tenants/t1/datasets/d1');
  });

  it('keeps every key of a version under its prefix and every prefix under the tenant', () => {
    const key = modelArtifactKey('t1', 'm1', 3, 'model.onnx');
    expect(key.startsWith(modelVersionPrefix('t1', 'm1', 3))).toBe(true);
    expect(key.startsWith(tenantPrefix('t1'))).toBe(true);
    expect(modelVersionPrefix('t1', 'm1', 1)).not.toBe(
      modelVersionPrefix('t1', 'm1', 10).slice(0, -2),
    );
  });

  it('refuses ids that would change the layout', () => {
    expect(() => tenantPrefix('../t2')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => modelPrefix('t1', 'a/b')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => datasetKey('t1', '')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => modelArtifactKey('t1', 'm1', 1, '..')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    for (const version of [0, -1, 1.5, Number.NaN]) {
      expect(() => modelVersionPrefix('t1', 'm1', version)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});
