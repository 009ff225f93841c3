import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// libs/sdk/src/generated/openapi.ts is not committed: tools/generate-sdk-types.mjs writes it
// from docs/openapi.json (tools/build.mjs runs it before compiling the SDK; so does
// `npm run sdk:generate`, and `npm run typecheck` before tsc).
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GENERATED = new URL('./generated/openapi.ts', import.meta.url);

describe('generated OpenAPI types', () => {
  // A route or schema change that reaches docs/openapi.json cannot leave the types the SDK
  // and the console are checked against behind: the file on disk is exactly what
  // openapi-typescript makes of the document.
  it('are what openapi-typescript makes of docs/openapi.json', () => {
    const check = spawnSync(process.execPath, ['tools/generate-sdk-types.mjs', '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(check.status, check.stderr).toBe(0);
  });

  it('describe the routes and schemas the client is written against', async () => {
    const generated = await readFile(GENERATED, 'utf8');
    for (const needle of [
      '"/api/models/{name}/versions": {',
      '"/api/models/{name}/versions/{version}/tree": {',
      '"/v2/models/{model}/versions/{version}/infer": {',
      '"/api/training-jobs/{id}/events": {',
      'ProblemDetails: {',
      'ModelVersion: {',
      'TrainingJob: {',
      'V2InferenceRequest: {',
    ]) {
      expect(generated).toContain(needle);
    }
  });
});
