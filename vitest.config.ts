import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const libsDir = fileURLToPath(new URL('./libs', import.meta.url));
/** A lib's subpath exports that name their source (`@maas/sdk/datatypes`), by import path. */
function sourceSubpaths(lib: string): [string, string][] {
  const { exports = {} } = JSON.parse(readFileSync(`${libsDir}/${lib}/package.json`, 'utf8')) as {
    exports?: Record<string, string | Record<string, string>>;
  };
  return Object.entries(exports).flatMap(([subpath, target]) =>
    subpath !== '.' && typeof target === 'object' && target['maas-source']
      ? [[`@maas/${lib}${subpath.slice(1)}`, `${libsDir}/${lib}/${target['maas-source']}`]]
      : [],
  );
}
// Tests import libs from source, so no build is needed for unit tests. Exact matches: a
// subpath is not the lib's index with a suffix.
const alias = readdirSync(libsDir).flatMap((lib) =>
  [[`@maas/${lib}`, `${libsDir}/${lib}/src/index.ts`], ...sourceSubpaths(lib)].map(
    ([name, file]) => ({ find: new RegExp(`^${name}$`), replacement: file }),
  ),
);

const excluded = ['**/node_modules/**', '**/dist/**'];
// Specs that need PostgreSQL, Redis or an object store are named `*.int-spec.ts`.
/** A Vitest project that inherits the root config (plugins, aliases, timeouts). */
function tier(name: string, files: { include: string[]; exclude: string[] }) {
  return { extends: true as const, test: { name, ...files } };
}

export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        keepClassNames: true,
      },
    }),
  ],
  resolve: { alias },
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // Tiers by what a spec needs (`vitest run --project unit` runs without PostgreSQL or Redis).
    projects: [
      tier('unit', {
        include: ['apps/*/src/**/*.spec.ts', 'libs/*/src/**/*.spec.ts'],
        exclude: excluded,
      }),
      tier('integration', {
        include: ['apps/*/src/**/*.int-spec.ts', 'libs/*/src/**/*.int-spec.ts'],
        exclude: excluded,
      }),
      tier('e2e', { include: ['e2e/**/*.spec.ts'], exclude: excluded }),
      // Suites that measure latency (a bystander's p99 under attack) against a quiet baseline:
      // scripts/test.sh runs them on their own after the rest, with no other file competing
      // for the machine's cores.
      tier('e2e-alone', { include: ['e2e/**/*.alone-spec.ts'], exclude: excluded }),
    ],
  },
});
