// Proves that @nx/enforce-module-boundaries is live: lints planted violations under our
// eslint.config.mjs and fails unless the rule reports each one (and passes an allowed import
// in a spec). Without a cached Nx project graph the rule skips itself and passes everything,
// so run this after `nx show projects` (scripts/test.sh does). The probes are linted in memory
// under the paths below, never written: the working tree may be shared with a running `tsc`
// or `eslint .`.
// Usage: node tools/check-boundaries.mjs
import { ESLint } from 'eslint';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RULE = '@nx/enforce-module-boundaries';
const probes = [
  {
    what: 'a util lib importing a data lib',
    filePath: 'libs/tensors/src/__boundary_probe__.ts',
    code: "export * as probe from '@maas/db';\n",
    expect: 'A project tagged with "type:util" can only depend on libs tagged with "type:util"',
  },
  {
    what: 'production code importing the testing lib',
    filePath: 'libs/model-registry/src/__boundary_probe__.ts',
    code: "export * as probe from '@maas/testing';\n",
    expect: 'A project tagged with "type:data" can only depend on libs tagged with',
  },
  {
    // The SDK ships to browsers and other people's projects: no server code may come along.
    what: 'the SDK importing a server lib',
    filePath: 'libs/sdk/src/__boundary_probe__.ts',
    // (Not @maas/tensors: that builds on the SDK's datatype table, so the rule would see a cycle.)
    code: "export * as probe from '@maas/db';\n",
    expect: 'A project tagged with "type:client" can only depend on libs tagged with "type:client"',
  },
  {
    what: 'the CLI importing a server lib',
    filePath: 'apps/cli/src/__boundary_probe__.ts',
    code: "export * as probe from '@maas/db';\n",
    expect: 'A project tagged with "type:cli" can only depend on libs tagged with "type:client"',
  },
  {
    what: 'a server app importing the SDK',
    filePath: 'apps/gateway/src/__boundary_probe__.ts',
    code: "export * as probe from '@maas/sdk';\n",
    expect: 'A project tagged with "type:app" can only depend on libs tagged with',
  },
  {
    what: "a server lib using the SDK's datatype table (allowed: the rule must stay quiet)",
    filePath: 'libs/tensors/src/__boundary_probe__.ts',
    code: "export { DATATYPES } from '@maas/sdk/datatypes';\n",
    expect: null,
  },
  {
    what: 'a server lib importing the rest of the SDK',
    filePath: 'libs/tensors/src/__boundary_probe__.ts',
    code: "export * as probe from '@maas/sdk';\n",
    expect: 'A project tagged with "type:util" can only depend on libs tagged with "type:util"',
  },
  {
    what: 'an app importing another app by relative path',
    filePath: 'apps/gateway/src/__boundary_probe__.ts',
    code: "export * as probe from '../../inference/src/app.module.js';\n",
    expect: 'Projects cannot be imported by a relative or absolute path',
  },
  {
    // Needs the graph's edges, which Nx only draws from imports with analyzeSourceFiles (nx.json).
    what: 'a dependency cycle',
    filePath: 'libs/db/src/__boundary_probe__.ts',
    code: "export * as probe from '@maas/model-registry';\n",
    expect: 'Circular dependency between "db" and "model-registry" detected',
  },
  {
    what: 'the browser console importing a server lib',
    filePath: 'apps/console/src/__boundary_probe__.ts',
    code: "export * as probe from '@maas/db';\n",
    expect:
      'A project tagged with "type:browser" can only depend on libs tagged with "type:client"',
  },
  {
    what: 'the browser console using the SDK (allowed: the rule must stay quiet)',
    filePath: 'apps/console/src/__boundary_probe__.ts',
    code: "export type { Model } from '@maas/sdk';\n",
    expect: null,
  },
  {
    what: 'a spec using the testing lib (allowed: the rule must stay quiet)',
    filePath: 'libs/tensors/src/__boundary_probe__.spec.ts',
    code: "export * as probe from '@maas/testing';\n",
    expect: null,
  },
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const eslint = new ESLint({
  cwd: root,
  // Only the boundary rule runs, so the probes need no type information (and no TS program).
  ruleFilter: ({ ruleId }) => ruleId === RULE,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

let failed = 0;
for (const probe of probes) {
  const [result] = await eslint.lintText(probe.code, { filePath: join(root, probe.filePath) });
  const messages = (result?.messages ?? []).filter((m) => m.ruleId === RULE);
  if (probe.expect === null) {
    if (messages.length === 0) {
      console.log(`ok   ${probe.what}: ${probe.filePath}`);
    } else {
      failed += 1;
      console.error(`FAIL ${probe.what}: ${probe.filePath} reported ${messages[0].message}`);
    }
    continue;
  }
  const hit = messages.find((m) => m.severity === 2 && m.message.includes(probe.expect));
  if (hit) {
    console.log(`ok   ${probe.what}: ${probe.filePath}  ${hit.message.split('\n')[0]}`);
  } else {
    failed += 1;
    const got = messages.map((m) => m.message).join(' | ') || 'nothing';
    console.error(`FAIL ${probe.what}: ${probe.filePath} expected "${probe.expect}", got ${got}`);
  }
}
if (failed) {
  console.error(
    `${RULE} failed ${failed} of ${probes.length} probes: is the Nx project graph cached ` +
      '(`npx nx show projects`), and do the tags and depConstraints still mean something?',
  );
  process.exit(1);
}
console.log(`${RULE} passed all ${probes.length} probes`);
