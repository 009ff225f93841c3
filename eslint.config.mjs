import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// Every project carries a kind and a scope (project.json `tags`). The kinds layer bottom-up:
// util (no domain) < data (Postgres, object store) and contract (queue and worker-link
// protocols) < feature (training) and runtime (the app shell: logger, errors, metrics, and the
// Postgres and Redis wiring) < app; test is the fixtures lib, which only tests import. The rule
// reads the tags from the cached Nx project graph and skips itself without one, so lint runs
// after `nx show projects` (scripts/test.sh); tools/check-boundaries.mjs proves that it bites.
// The client side stands apart: the SDK (type:client) runs in browsers and in other people's
// projects, so it may use nothing of the server's; the CLI (type:cli) and the browser console
// (type:browser, the shapes the gateway answers with) only the SDK.
const libKinds = ['type:util', 'type:data', 'type:contract', 'type:feature', 'type:runtime'];
const kindConstraints = [
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
  { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:util', 'type:data'] },
  { sourceTag: 'type:contract', onlyDependOnLibsWithTags: ['type:util', 'type:contract'] },
  {
    sourceTag: 'type:feature',
    onlyDependOnLibsWithTags: ['type:util', 'type:data', 'type:contract', 'type:feature'],
  },
  { sourceTag: 'type:runtime', onlyDependOnLibsWithTags: ['type:util', 'type:data'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: libKinds },
  { sourceTag: 'type:client', onlyDependOnLibsWithTags: ['type:client'] },
  { sourceTag: 'type:cli', onlyDependOnLibsWithTags: ['type:client'] },
  { sourceTag: 'type:browser', onlyDependOnLibsWithTags: ['type:client'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: [...libKinds, 'type:test', 'type:client'] },
  { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['*'] },
];
const scopeConstraints = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:shared', 'scope:gateway'] },
  { sourceTag: 'scope:inference', onlyDependOnLibsWithTags: ['scope:shared', 'scope:inference'] },
  { sourceTag: 'scope:trainer', onlyDependOnLibsWithTags: ['scope:shared', 'scope:trainer'] },
  { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'] },
  { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:shared'] },
  // The console is a browser bundle: of our libs only the SDK is written for browsers.
  { sourceTag: 'scope:console', onlyDependOnLibsWithTags: ['scope:console', 'type:client'] },
];
const depConstraints = [...kindConstraints, ...scopeConstraints];
// The one way back: the Open Inference Protocol's datatype table is the SDK's, a module that
// imports nothing, and @maas/tensors builds on it instead of keeping its own copy.
const allow = ['@maas/sdk/datatypes'];
const specDepConstraints = [
  { sourceTag: '*', onlyDependOnLibsWithTags: [...libKinds, 'type:test', 'type:client'] },
  ...scopeConstraints.map((c) => ({
    ...c,
    onlyDependOnLibsWithTags: [
      ...new Set([
        ...c.onlyDependOnLibsWithTags,
        'scope:testing',
        // The console's specs check it against the shared contracts it mirrors (job spec, plans).
        ...(c.sourceTag === 'scope:console' ? ['scope:shared'] : []),
      ]),
    ],
  })),
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/generated/**',
      '.nx/**',
      '.data/**',
      '.test-data/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'off',
      '@nx/enforce-module-boundaries': ['error', { allow, depConstraints }],
    },
  },
  {
    // Tests may use any lib (the fixtures of @maas/testing, a real PrismaService behind
    // app-runtime's error mapping), never an app. `*.fixtures.ts` files are test-only helpers
    // beside the specs that share them (never built, never imported by production code).
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.fixtures.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { allow, depConstraints: specDepConstraints }],
    },
  },
  prettier,
);
