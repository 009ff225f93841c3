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

  it('refuses to start in production with the compose defaults, naming each secret', () => {
    const compose = {
      NODE_ENV: 'production',
      JWT_SECRET: 'dev-only-jwt-secret-change-me-not-a-real-secret',
      MASTER_KEY: 'ZGV2LW9ubHktbWFzdGVyLWtleS0zMi1ieXRlcyEhISE=',
      WORKER_SECRET: 'dev-only-worker-secret-change-me-not-a-real-secret',
    };
    for (const env of [compose, { NODE_ENV: 'production' }]) {
      try {
        loadConfig(gatewayConfigSchema, env);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toMatch(/JWT_SECRET: .*NODE_ENV=production/);
        expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
          'JWT_SECRET',
          'MASTER_KEY',
          'WORKER_SECRET',
        ]);
      }
    }
    const own = loadConfig(gatewayConfigSchema, {
      NODE_ENV: 'production',
      JWT_SECRET: 'a'.repeat(20) + 'b'.repeat(20),
      MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
      WORKER_SECRET: 'c'.repeat(40),
    });
    expect(own.WORKER_SECRET).toBe('c'.repeat(40));
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

  it('trusts no proxy by default, reads a list of IPs and CIDRs, and names a bad entry', () => {
    expect(loadConfig(gatewayConfigSchema, {}).TRUST_PROXY).toEqual([]);
    expect(
      loadConfig(gatewayConfigSchema, { TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY,
    ).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(() => loadConfig(gatewayConfigSchema, { TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig(gatewayConfigSchema, { TRUST_PROXY: '10.0.0.0/99' })).toThrow(
      /TRUST_PROXY.*10\.0\.0\.0\/99/,
    );
  });
});
