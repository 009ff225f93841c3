// Development only: lets the validation child run from TypeScript sources, as unit tests
// import libs from source (vitest compiles them itself; a forked child has no vitest). Loaded
// with `node --import <this file>`, it registers itself as module hooks that compile .ts with
// SWC (the options of tools/build.mjs), resolve `@maas/<lib>` to libs/<lib>/src/index.ts (a
// subpath such as `@maas/sdk/datatypes` to the source its package.json exports name) and a
// relative './x.js' to './x.ts' when only the source exists. A build never uses it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const LIBS = new URL('../../../', import.meta.url);
// Compiled files are kept by path, size and mtime: children start many times per test run.
const CACHE = new URL('../../../../node_modules/.cache/maas-source-loader/', import.meta.url);

// The hooks themselves run on a loader thread, which imports this file again.
if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, next) {
  const lib = /^@maas\/([a-z0-9-]+)$/.exec(specifier);
  if (lib) return { url: new URL(`${lib[1]}/src/index.ts`, LIBS).href, shortCircuit: true };
  const subpath = /^@maas\/([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(specifier);
  if (subpath) {
    const manifest = new URL(`${subpath[1]}/package.json`, LIBS);
    const { exports } = JSON.parse(readFileSync(manifest, 'utf8'));
    const source = exports?.[`./${subpath[2]}`]?.['maas-source'];
    if (source) return { url: new URL(source, manifest).href, shortCircuit: true };
  }
  if (
    /^\.\.?\//.test(specifier) &&
    specifier.endsWith('.js') &&
    context.parentURL?.endsWith('.ts')
  ) {
    const source = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (existsSync(fileURLToPath(source))) return { url: source.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const filename = fileURLToPath(url);
  const { size, mtimeMs } = await stat(filename);
  const key = createHash('sha256').update(`${filename}\0${size}\0${mtimeMs}`).digest('hex');
  const cached = new URL(`${key}.js`, CACHE);
  try {
    return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true };
  } catch {
    // not compiled yet
  }
  const source = await compile(filename);
  try {
    await mkdir(CACHE, { recursive: true });
    const temp = new URL(`${key}.${process.pid}.tmp`, CACHE);
    await writeFile(temp, source);
    await rename(temp, cached);
  } catch {
    // a cache we cannot write only costs time
  }
  return { format: 'module', source, shortCircuit: true };
}

async function compile(filename) {
  const { transform } = await import('@swc/core');
  const { code } = await transform(await readFile(filename, 'utf8'), {
    filename,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  });
  return code;
}
