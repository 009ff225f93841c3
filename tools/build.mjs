// Compiles each project's src/ to its dist/ with SWC (decorator metadata for Nest); a project
// with a vite.config.mjs (the browser console, apps/console) is bundled by Vite instead.
// Type checking is a separate step (`npm run typecheck`); this one only emits. A project with a
// tsconfig.build.json (the packable @maas/sdk) also gets its .d.ts files from tsc. The SDK's
// generated route types (libs/sdk/src/generated/openapi.ts, not committed) are written from
// docs/openapi.json first, whenever libs/sdk is among the projects built.
// Usage: node tools/build.mjs [projectRoot ...]   (default: every app and lib)
import { transformFile } from '@swc/core';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSdkTypes } from './generate-sdk-types.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: true,
};
// Specs and the test-only fixtures beside them are not part of a build.
const isTest = (name) => /\.(spec|int-spec|test|fixtures)\.ts$/.test(name);

async function walk(dir) {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])),
  );
  return files.flat();
}

/** A browser app: Vite bundles it into hashed static files (its config names dist/). */
async function bundleProject(configFile) {
  const { build } = await import('vite');
  await build({ configFile, logLevel: 'warn' });
}

async function buildProject(projectRoot) {
  const viteConfig = join(root, projectRoot, 'vite.config.mjs');
  if (existsSync(viteConfig)) return bundleProject(viteConfig);
  const src = join(root, projectRoot, 'src');
  const out = join(root, projectRoot, 'dist');
  await rm(out, { recursive: true, force: true });
  const files = await walk(src);
  await Promise.all(
    files.map(async (file) => {
      const rel = relative(src, file);
      if (file.endsWith('.ts')) {
        if (isTest(file) || file.endsWith('.d.ts')) return;
        const target = join(out, rel.replace(/\.ts$/, '.js'));
        const { code, map } = await transformFile(file, { ...swcOptions, filename: file });
        await mkdir(dirname(target), { recursive: true });
        const base = target.split('/').pop();
        await writeFile(target, `${code}\n//# sourceMappingURL=${base}.map\n`);
        if (map) await writeFile(`${target}.map`, map);
      } else {
        const target = join(out, rel);
        await mkdir(dirname(target), { recursive: true });
        await cp(file, target);
      }
    }),
  );
  await emitDeclarations(projectRoot);
  return files.length;
}

/** tsc's declarations for a project that ships types (its tsconfig.build.json says where). */
async function emitDeclarations(projectRoot) {
  const configPath = join(root, projectRoot, 'tsconfig.build.json');
  if (!existsSync(configPath)) return;
  const ts = (await import('typescript')).default;
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dirname(configPath));
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const { diagnostics } = program.emit(undefined, undefined, undefined, true);
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const host = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => root,
      getNewLine: () => '\n',
    };
    throw new Error(`${projectRoot}: declarations\n${ts.formatDiagnostics(errors, host)}`);
  }
}

const requested = process.argv.slice(2);
const projects = requested.length
  ? requested
  : [
      ...(await readdir(join(root, 'libs'))).map((d) => `libs/${d}`),
      ...(await readdir(join(root, 'apps'))).map((d) => `apps/${d}`),
    ];
const started = Date.now();
if (projects.some((p) => p.replace(/\/+$/, '') === 'libs/sdk')) await generateSdkTypes();
for (const p of projects) await buildProject(p);
console.log(`built ${projects.length} projects in ${Date.now() - started} ms`);
