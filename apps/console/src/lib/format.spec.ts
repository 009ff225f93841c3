import { describe, expect, it } from 'vitest';
import { keyState } from '../components/api-keys';
import { formatBytes, formatLimit, formatShare } from './format';

describe('the usage page’s numbers', () => {
  it('says what share of a limit is used, a zero limit counting as one', () => {
    expect(formatShare(250, 1000)).toBe('25.0%');
    expect(formatShare(1, 3)).toBe('33.3%');
    expect(formatShare(2, 0)).toBe('200.0%');
  });

  it('writes byte limits in binary units and counts as they are', () => {
    expect(formatBytes(1024 ** 3)).toBe('1.0 GiB');
    expect(formatBytes(50 * 1024 ** 3)).toBe('50 GiB');
    expect(formatLimit(1536, true)).toBe('1.5 KiB');
    expect(formatLimit(null)).toBe('—');
  });
});

describe('an API key’s state', () => {
  const key = {
    id: 'k',
    tenantId: 't',
    name: 'ci',
    prefix: 'maas_live_abcdefghijkl',
    scopes: ['infer'],
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    createdAt: '2025-01-01T00:00:00.000Z',
  };

  it('is revoked once revoked, expired past its expiry, else active', () => {
    expect(keyState(key)).toBe('active');
    expect(keyState({ ...key, expiresAt: '2999-01-01T00:00:00.000Z' })).toBe('active');
    expect(keyState({ ...key, expiresAt: '2020-01-01T00:00:00.000Z' })).toBe('expired');
    expect(
      keyState({
        ...key,
        expiresAt: '2020-01-01T00:00:00.000Z',
        revokedAt: '2019-06-01T00:00:00.000Z',
      }),
    ).toBe('revoked');
  });
});
