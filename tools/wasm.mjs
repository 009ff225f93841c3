// Compiles the WebAssembly text sources (*.wat) under libs/*/src into TypeScript modules that
// embed the binary as base64 (<name>.wasm.ts beside the source), so builds and installs need no
// WebAssembly toolchain. Run it after editing a .wat file; a unit test checks they match.
// Usage: node tools/wasm.mjs [--check]
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWat, embeddedModuleSource } from './wasm-compile.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

async function watFiles(dir) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.wat'))
    .map((e) => join(e.parentPath, e.name));
}

let stale = 0;
for (const lib of await readdir(join(root, 'libs'))) {
  for (const wat of await watFiles(join(root, 'libs', lib, 'src')).catch(() => [])) {
    const target = wat.replace(/\.wat$/, '.wasm.ts');
    const source = embeddedModuleSource(await compileWat(wat), relative(root, wat));
    const current = await readFile(target, 'utf8').catch(() => '');
    if (current === source) continue;
    if (check) {
      console.error(`${relative(root, target)} is stale: run node tools/wasm.mjs`);
      stale++;
    } else {
      await writeFile(target, source);
      console.log(`wrote ${relative(root, target)}`);
    }
  }
}
process.exit(stale ? 1 : 0);
