// Writes the SDK's route and schema types, libs/sdk/src/generated/openapi.ts, from the
// committed OpenAPI document (docs/openapi.json) with openapi-typescript. The file is not
// committed: tools/build.mjs runs this before it compiles anything, and `npm run typecheck`
// before tsc, so a fresh clone gets it on its first build. libs/sdk/src/openapi-types.spec.ts
// runs it with --check, which writes nothing and fails while the file on disk differs.
// Usage: node tools/generate-sdk-types.mjs [--check]   (the first is `npm run sdk:generate`)
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OPENAPI_DOCUMENT = join(root, 'docs/openapi.json');
export const SDK_TYPES_FILE = join(root, 'libs/sdk/src/generated/openapi.ts');
const BANNER = `// Generated from docs/openapi.json by openapi-typescript (tools/generate-sdk-types.mjs). Do not edit.\n\n`;

/** What openapi-typescript makes of docs/openapi.json, with the banner above. */
export async function sdkTypesSource() {
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const document = JSON.parse(await readFile(OPENAPI_DOCUMENT, 'utf8'));
  return BANNER + astToString(await openapiTS(document));
}

/**
 * Writes the file unless it already holds exactly that (watchers stay quiet), through a
 * rename so that a tsc reading it meanwhile never sees half of it.
 */
export async function generateSdkTypes() {
  const source = await sdkTypesSource();
  const current = await readFile(SDK_TYPES_FILE, 'utf8').catch(() => null);
  if (current === source) return false;
  await mkdir(dirname(SDK_TYPES_FILE), { recursive: true });
  const partial = `${SDK_TYPES_FILE}.${process.pid}.tmp`;
  await writeFile(partial, source);
  await rename(partial, SDK_TYPES_FILE);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const current = await readFile(SDK_TYPES_FILE, 'utf8').catch(() => null);
    if (current !== (await sdkTypesSource())) {
      console.error(
        `libs/sdk/src/generated/openapi.ts is ${current === null ? 'missing' : 'stale'}: ` +
          'run `npm run sdk:generate` (tools/build.mjs does it too)',
      );
      process.exit(1);
    }
  } else {
    const written = await generateSdkTypes();
    console.log(`libs/sdk/src/generated/openapi.ts ${written ? 'written' : 'up to date'}`);
  }
}
