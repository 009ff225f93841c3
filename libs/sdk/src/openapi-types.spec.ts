import { readFile, writeFile } from 'node:fs/promises';
import openapiTS, { astToString } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

const DOCUMENT = new URL('../../../docs/openapi.json', import.meta.url);
const GENERATED = new URL('./generated/openapi.ts', import.meta.url);
const BANNER = `// Generated from docs/openapi.json by openapi-typescript: \`npm run sdk:generate\`. Do not edit.\n\n`;

/** The SDK's types as openapi-typescript writes them from the committed OpenAPI document. */
async function generate(): Promise<string> {
  const document = JSON.parse(await readFile(DOCUMENT, 'utf8')) as Parameters<typeof openapiTS>[0];
  return BANNER + astToString(await openapiTS(document));
}

describe('generated OpenAPI types', () => {
  // `npm run sdk:generate` rewrites the committed file; CI fails while it differs, so a route
  // or schema change that reaches docs/openapi.json cannot leave the SDK's types behind.
  it('match what openapi-typescript makes of docs/openapi.json', async () => {
    const generated = await generate();
    if (process.env.SDK_TYPES_WRITE === '1') await writeFile(GENERATED, generated);
    const committed = await readFile(GENERATED, 'utf8').catch(() => '');
    expect(
      committed === generated,
      'libs/sdk/src/generated/openapi.ts is stale: run `npm run sdk:generate`',
    ).toBe(true);
  });

  it('describe the routes and schemas the client is written against', async () => {
    const generated = await generate();
    for (const needle of [
      '"/api/models/{name}/versions": {',
      '"/v2/models/{model}/versions/{version}/infer": {',
      '"/api/training-jobs/{id}/events": {',
      'ProblemDetails: {',
      'V2InferenceRequest: {',
    ]) {
      expect(generated).toContain(needle);
    }
  });
});
