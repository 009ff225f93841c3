import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const libsDir = fileURLToPath(new URL('./libs', import.meta.url));
// Tests import libs from source, so no build is needed for unit tests.
const alias = Object.fromEntries(
  readdirSync(libsDir).map((lib) => [`@maas/${lib}`, `${libsDir}/${lib}/src/index.ts`]),
);

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
    include: ['apps/*/src/**/*.spec.ts', 'libs/*/src/**/*.spec.ts', 'e2e/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
