import { ConfigError, loadConfig } from '@maas/config';
import { describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from './gateway-config.js';

describe('gateway config', () => {
  it('runs locally with no variables set', () => {
    const config = loadConfig(gatewayConfigSchema, {});
    expect(config.PORT).toBe(3000);
    expect(config.INFERENCE_WORKER_URL).toBe('http://127.0.0.1:8080');
    expect(config.JWT_SECRET).toBeUndefined();
  });

  it('requires the admin email and password together', () => {
    expect(() => loadConfig(gatewayConfigSchema, { MAAS_ADMIN_EMAIL: 'a@b.co' })).toThrow(
      /MAAS_ADMIN_PASSWORD/,
    );
  });

  it('names a short JWT secret and a bad worker URL', () => {
    try {
      loadConfig(gatewayConfigSchema, { JWT_SECRET: 'short', INFERENCE_WORKER_URL: 'ftp://x' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
        'INFERENCE_WORKER_URL',
        'JWT_SECRET',
      ]);
    }
  });
});
