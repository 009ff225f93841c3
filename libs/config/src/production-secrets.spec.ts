import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError, loadConfig, masterKeyFrom, sharedConfigShape } from './config-loader.js';
import {
  DEVELOPMENT_WORKER_SECRET,
  isPublishedSecret,
  type ProductionSecret,
  requireProductionSecrets,
  workerSecret,
} from './production-secrets.js';

// The shape of an app holding all three (the gateway's, with only what matters here).
const schema = z
  .object({
    ...sharedConfigShape,
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    WORKER_SECRET: workerSecret(),
  })
  .superRefine(requireProductionSecrets('JWT_SECRET', 'MASTER_KEY', 'WORKER_SECRET'));

const REPO = new URL('../../../', import.meta.url);
const own = () => ({
  JWT_SECRET: randomBytes(32).toString('hex'),
  MASTER_KEY: randomBytes(32).toString('base64'),
  WORKER_SECRET: randomBytes(32).toString('hex'),
});

function problems(env: Record<string, string | undefined>): Record<string, string> {
  try {
    loadConfig(schema, env);
    return {};
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return Object.fromEntries(
      (error as ConfigError).problems.map((p) => [p.variable, p.message] as const),
    );
  }
}

/** `${VAR:-default}` values of the three secrets in docker-compose.yml. */
function composeDefaults(): [ProductionSecret, string][] {
  const text = readFileSync(new URL('docker-compose.yml', REPO), 'utf8');
  return [...text.matchAll(/\$\{(JWT_SECRET|MASTER_KEY|WORKER_SECRET):-([^}]*)\}/g)].map((m) => [
    m[1] as ProductionSecret,
    m[2]!,
  ]);
}

describe('production secrets', () => {
  it('asks nothing outside production: the development defaults apply', () => {
    expect(problems({})).toEqual({});
    expect(problems({ NODE_ENV: 'test' })).toEqual({});
    expect(loadConfig(schema, {}).WORKER_SECRET).toBe(DEVELOPMENT_WORKER_SECRET);
  });

  it('in production requires each of them, unset or empty, naming the variable', () => {
    for (const env of [{}, { JWT_SECRET: '', MASTER_KEY: '', WORKER_SECRET: '' }]) {
      const found = problems({ NODE_ENV: 'production', ...env });
      expect(Object.keys(found).sort()).toEqual(['JWT_SECRET', 'MASTER_KEY', 'WORKER_SECRET']);
      expect(found.JWT_SECRET).toMatch(/required when NODE_ENV=production.*openssl rand -hex 32/);
      expect(found.MASTER_KEY).toMatch(/required.*openssl rand -base64 32/);
      expect(found.WORKER_SECRET).toMatch(/required when NODE_ENV=production/);
    }
    // However NODE_ENV is spelled.
    expect(Object.keys(problems({ NODE_ENV: ' Production ' }))).toHaveLength(3);
  });

  it('refuses every default docker-compose.yml publishes, in production only', () => {
    const defaults = composeDefaults();
    expect(defaults.map(([variable]) => variable).sort()).toEqual(
      expect.arrayContaining(['JWT_SECRET', 'MASTER_KEY', 'WORKER_SECRET']),
    );
    for (const [variable, value] of defaults) {
      const env = { ...own(), [variable]: value };
      expect(problems(env), `${variable} outside production`).toEqual({});
      const found = problems({ ...env, NODE_ENV: 'production' });
      expect(Object.keys(found), `${variable}=${value}`).toEqual([variable]);
      expect(found[variable]).toMatch(/published development value/);
    }
  });

  it('refuses the dev overlay Secret values and the test harness one', () => {
    const secret = parse(readFileSync(new URL('k8s/overlays/dev/secret.yaml', REPO), 'utf8')) as {
      stringData: Record<string, string>;
    };
    const values = {
      JWT_SECRET: secret.stringData.JWT_SECRET,
      MASTER_KEY: secret.stringData.MASTER_KEY,
      WORKER_SECRET: secret.stringData.WORKER_SECRET,
    };
    expect(Object.values(values).every((v) => typeof v === 'string')).toBe(true);
    expect(Object.keys(problems({ NODE_ENV: 'production', ...values })).sort()).toEqual([
      'JWT_SECRET',
      'MASTER_KEY',
      'WORKER_SECRET',
    ]);
    expect(isPublishedSecret('JWT_SECRET', 'test-secret-that-is-at-least-32-characters-long')).toBe(
      true,
    );
  });

  it('refuses the built-in development keys and hand-written placeholders', () => {
    const devKey = masterKeyFrom({ NODE_ENV: 'development' }).key;
    // Any base64 spelling of the development key (unpadded here) is the same key.
    const unpadded = devKey.toString('base64').replace(/=+$/, '');
    expect(problems({ ...own(), NODE_ENV: 'production', MASTER_KEY: unpadded })).toHaveProperty(
      'MASTER_KEY',
    );
    expect(
      problems({ ...own(), NODE_ENV: 'production', WORKER_SECRET: DEVELOPMENT_WORKER_SECRET }),
    ).toHaveProperty('WORKER_SECRET');
    for (const placeholder of [
      'please-change-me-please-change-me-please',
      'CHANGEME_CHANGEME_CHANGEME_CHANGEME_1234',
    ]) {
      expect(
        Object.keys(problems({ ...own(), NODE_ENV: 'production', JWT_SECRET: placeholder })),
      ).toEqual(['JWT_SECRET']);
    }
  });

  it('refuses short secrets everywhere, naming them', () => {
    for (const NODE_ENV of ['development', 'production']) {
      const found = problems({
        ...own(),
        NODE_ENV,
        JWT_SECRET: 'short',
        WORKER_SECRET: 'x'.repeat(31),
        MASTER_KEY: randomBytes(16).toString('base64'),
      });
      expect(Object.keys(found).sort()).toEqual(['JWT_SECRET', 'MASTER_KEY', 'WORKER_SECRET']);
      expect(found.WORKER_SECRET).toMatch(/at least 32 characters/);
    }
  });

  it('starts in production with secrets of its own', () => {
    const env = own();
    const config = loadConfig(schema, { NODE_ENV: 'production', ...env });
    expect(config.WORKER_SECRET).toBe(env.WORKER_SECRET);
    expect(masterKeyFrom(config).key).toEqual(Buffer.from(env.MASTER_KEY, 'base64'));
  });
});
