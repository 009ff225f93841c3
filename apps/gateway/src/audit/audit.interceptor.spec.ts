import { describe, expect, it } from 'vitest';
import { describeMutation } from './audit.interceptor.js';

describe('route classification', () => {
  it('names audited mutations by their target', () => {
    expect(describeMutation('POST', '/api/admin/tenants/:id/api-keys')).toEqual({
      action: 'api-keys.create',
      targetType: 'api-keys',
      targetParam: 'id',
    });
    expect(describeMutation('DELETE', '/api/admin/tenants/:id/api-keys/:keyId')).toMatchObject({
      action: 'api-keys.delete',
      targetParam: 'keyId',
    });
    expect(describeMutation('PUT', '/api/models/:name/labels/:label')).toMatchObject({
      action: 'labels.put',
      targetType: 'labels',
    });
    expect(describeMutation('POST', '/api/training-jobs/:id/cancel')).toMatchObject({
      action: 'training-jobs.cancel',
      targetType: 'training-jobs',
    });
  });
});
