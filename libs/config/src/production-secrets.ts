import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Whether NODE_ENV names production (the images set NODE_ENV=production). */
export function isProduction(nodeEnv: string | undefined): boolean {
  return nodeEnv?.trim().toLowerCase() === 'production';
}

/**
 * Development only: the fixed, public WORKER_SECRET every app of a local run agrees on
 * (scripts/dev.sh, tests). Refused in production.
 */
export const DEVELOPMENT_WORKER_SECRET =
  'maas-development-worker-secret-public-never-use-in-production';

/** The platform's development master key (public: derived from a string in this file). */
export const DEVELOPMENT_MASTER_KEY = createHash('sha256')
  .update('maas development master key (public; never use in production)')
  .digest();

/** Secrets that production refuses to start without, or with a published value. */
export type ProductionSecret = 'JWT_SECRET' | 'MASTER_KEY' | 'WORKER_SECRET';

/**
 * Every value of these variables that this repository publishes: the compose defaults
 * (docker-compose.yml), the dev overlay's Secret (k8s/overlays/dev/secret.yaml), the test
 * harness and the built-in development defaults. production-secrets.spec.ts reads the first two
 * files, so a default changed there without being listed here fails the tests.
 */
const PUBLISHED: Record<ProductionSecret, readonly string[]> = {
  JWT_SECRET: [
    'dev-only-jwt-secret-change-me',
    'dev-only-jwt-secret-change-me-not-a-real-secret',
    'test-secret-that-is-at-least-32-characters-long',
  ],
  MASTER_KEY: [
    'ZGV2LW9ubHktbWFzdGVyLWtleS0zMi1ieXRlcyEhISE=',
    DEVELOPMENT_MASTER_KEY.toString('base64'),
  ],
  WORKER_SECRET: [DEVELOPMENT_WORKER_SECRET, 'dev-only-worker-secret-change-me-not-a-real-secret'],
};
/** Placeholders people write by hand ("change-me", "changeme", "dev-only-…"). */
const PLACEHOLDER = /change[-_ ]?me|dev[-_ ]only/i;

const HINTS: Record<ProductionSecret, string> = {
  JWT_SECRET: 'openssl rand -hex 32',
  MASTER_KEY: 'openssl rand -base64 32',
  WORKER_SECRET: 'openssl rand -hex 32',
};

/** Whether `value` is one this repository publishes for `variable` (or an obvious placeholder). */
export function isPublishedSecret(variable: ProductionSecret, value: string): boolean {
  if (variable === 'MASTER_KEY') {
    // Any base64 spelling of the same 32 bytes is the same key.
    const key = Buffer.from(value, 'base64');
    return PUBLISHED.MASTER_KEY.some((known) => Buffer.from(known, 'base64').equals(key));
  }
  const trimmed = value.trim();
  return PUBLISHED[variable].includes(trimmed) || PLACEHOLDER.test(trimmed);
}

/** Why `value` cannot be `variable` in production, or undefined when it can. */
export function productionSecretProblem(
  variable: ProductionSecret,
  value: string | undefined,
): string | undefined {
  const hint = `generate one with \`${HINTS[variable]}\``;
  // WORKER_SECRET defaults to the development value: left unset, that is what arrives here.
  const unset = variable === 'WORKER_SECRET' && value === DEVELOPMENT_WORKER_SECRET;
  if (value === undefined || value.trim() === '' || unset) {
    return `is required when NODE_ENV=production; ${hint}`;
  }
  if (isPublishedSecret(variable, value)) {
    return (
      'is a published development value (docker-compose.yml, k8s/overlays/dev or the built-in ' +
      `default) and is refused when NODE_ENV=production; ${hint}`
    );
  }
  return undefined;
}

/**
 * For app schemas (`.superRefine(requireProductionSecrets('MASTER_KEY', …))`): with
 * NODE_ENV=production, each named secret must be set, and not to a published value. Length and
 * format rules are the variables' own (they hold in every environment).
 */
export function requireProductionSecrets(...variables: ProductionSecret[]) {
  return (
    config: { NODE_ENV: string } & Partial<Record<ProductionSecret, string>>,
    context: z.RefinementCtx,
  ): void => {
    if (!isProduction(config.NODE_ENV)) return;
    for (const variable of variables) {
      const message = productionSecretProblem(variable, config[variable]);
      if (message) context.addIssue({ code: 'custom', message, path: [variable] });
    }
  };
}

/**
 * WORKER_SECRET: authenticates the gateway to inference workers (the worker link's handshake,
 * HTTP request signatures). Gateway and workers must share it; the default is development only.
 */
export const workerSecret = () =>
  z.string().min(32, 'must be at least 32 characters').default(DEVELOPMENT_WORKER_SECRET);
