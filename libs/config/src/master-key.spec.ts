import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  loadConfig,
  masterKeyFrom,
  masterKeyRequiredInProduction,
  sharedConfigShape,
} from './config-loader.js';

const schema = z.object(sharedConfigShape).refine(...masterKeyRequiredInProduction);
const key = Buffer.alloc(32, 7).toString('base64');

describe('master key config', () => {
  it('falls back to a fixed development key outside production', () => {
    const a = masterKeyFrom(loadConfig(schema, {}));
    const b = masterKeyFrom(loadConfig(schema, { NODE_ENV: 'test' }));
    expect(a.id).toBe('dev');
    expect(a.key).toHaveLength(32);
    expect(b.key).toEqual(a.key);
  });

  it('refuses to start in production without MASTER_KEY, naming it', () => {
    expect(() => loadConfig(schema, { NODE_ENV: 'production' })).toThrow(/MASTER_KEY/);
    expect(() => masterKeyFrom({ NODE_ENV: 'production' })).toThrow(ConfigError);
  });

  it('takes a base64 key of 32 bytes, with its id or a fingerprint of it', () => {
    const named = masterKeyFrom(
      loadConfig(schema, { NODE_ENV: 'production', MASTER_KEY: key, MASTER_KEY_ID: 'k1' }),
    );
    expect(named).toEqual({ id: 'k1', key: Buffer.alloc(32, 7) });
    const unnamed = masterKeyFrom(loadConfig(schema, { MASTER_KEY: key }));
    expect(unnamed.id).toMatch(/^mk-[0-9a-f]{12}$/);
    expect(() => loadConfig(schema, { MASTER_KEY: 'c2hvcnQ=' })).toThrow(/MASTER_KEY/);
  });
});
