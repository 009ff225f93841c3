import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, loadConfig, sharedConfigShape } from './config-loader.js';

const schema = z.object({
  ...sharedConfigShape,
  PORT: env.port(3000),
  MAX_UPLOAD_BYTES: env.positiveInt(1024),
  VERBOSE: env.boolean(false),
});

describe('loadConfig', () => {
  it('fills working defaults for a local run', () => {
    const config = loadConfig(schema, {});
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toMatch(/^postgresql:\/\//);
    expect(config.STORAGE_DRIVER).toBe('fs');
    expect(config.VERBOSE).toBe(false);
  });

  it('coerces and validates values from strings', () => {
    const config = loadConfig(schema, { PORT: '8080', VERBOSE: 'yes', MAX_UPLOAD_BYTES: '5' });
    expect(config).toMatchObject({ PORT: 8080, VERBOSE: true, MAX_UPLOAD_BYTES: 5 });
  });

  it('makes STORAGE_FS_ROOT absolute against the start directory (apps leave it at boot)', () => {
    expect(loadConfig(schema, {}).STORAGE_FS_ROOT).toBe(join(process.cwd(), '.data/storage'));
    expect(loadConfig(schema, { STORAGE_FS_ROOT: 'x/../store' }).STORAGE_FS_ROOT).toBe(
      join(process.cwd(), 'store'),
    );
    expect(loadConfig(schema, { STORAGE_FS_ROOT: '/srv/maas' }).STORAGE_FS_ROOT).toBe('/srv/maas');
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig(schema, { PORT: '' }).PORT).toBe(3000);
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: 'abc', REDIS_URL: 'http://x', STORAGE_DRIVER: 'ftp' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.variable).sort();
    expect(problems).toEqual(['PORT', 'REDIS_URL', 'STORAGE_DRIVER']);
    expect((error as Error).message).toContain('PORT');
  });

  it('rejects out-of-range ports and non-positive sizes', () => {
    expect(() => loadConfig(schema, { PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig(schema, { MAX_UPLOAD_BYTES: '0' })).toThrow(/MAX_UPLOAD_BYTES/);
  });
});
