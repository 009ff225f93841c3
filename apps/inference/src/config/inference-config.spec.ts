import { ConfigError, DEVELOPMENT_WORKER_SECRET, loadConfig } from '@maas/config';
import { describe, expect, it } from 'vitest';
import { inferenceConfigSchema } from './inference-config.js';

const variables = (env: Record<string, string>) => {
  try {
    loadConfig(inferenceConfigSchema, env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => p.variable).sort();
  }
};

describe('inference config', () => {
  it('runs locally with no variables: ops on 8082, the development worker secret', () => {
    const config = loadConfig(inferenceConfigSchema, {});
    expect([config.PORT, config.LINK_PORT, config.OPS_PORT]).toEqual([8080, 8081, 8082]);
    expect(config.WORKER_SECRET).toBe(DEVELOPMENT_WORKER_SECRET);
    expect(loadConfig(inferenceConfigSchema, { OPS_PORT: '0', LINK_PORT: '0' }).OPS_PORT).toBe(0);
  });

  it('caps answers at 64 MiB by default, and never past what a link frame carries', () => {
    expect(loadConfig(inferenceConfigSchema, {}).MAX_RESPONSE_BYTES).toBe(64 * 1024 * 1024);
    expect(variables({ MAX_RESPONSE_BYTES: String(256 * 1024 * 1024) })).toEqual([
      'MAX_RESPONSE_BYTES',
    ]);
    expect(variables({ MAX_RESPONSE_BYTES: '0' })).toEqual(['MAX_RESPONSE_BYTES']);
  });

  it('keeps the ops port apart from the serving ports', () => {
    expect(variables({ OPS_PORT: '8080' })).toEqual(['OPS_PORT']);
    expect(variables({ OPS_PORT: '9000', LINK_PORT: '9000' })).toEqual(['OPS_PORT']);
    expect(variables({ OPS_PORT: '70000' })).toEqual(['OPS_PORT']);
  });

  it('refuses to start in production without secrets of its own', () => {
    expect(variables({ NODE_ENV: 'production' })).toEqual(['MASTER_KEY', 'WORKER_SECRET']);
    expect(
      variables({
        NODE_ENV: 'production',
        MASTER_KEY: 'ZGV2LW9ubHktbWFzdGVyLWtleS0zMi1ieXRlcyEhISE=',
        WORKER_SECRET: 'dev-only-worker-secret-change-me-not-a-real-secret',
      }),
    ).toEqual(['MASTER_KEY', 'WORKER_SECRET']);
    expect(
      variables({
        NODE_ENV: 'production',
        MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
        WORKER_SECRET: 'short',
      }),
    ).toEqual(['WORKER_SECRET']);
    expect(
      variables({
        NODE_ENV: 'production',
        MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
        WORKER_SECRET: 'f'.repeat(64),
      }),
    ).toEqual([]);
  });
});
