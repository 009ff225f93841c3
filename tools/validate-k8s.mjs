#!/usr/bin/env node
// Validates rendered Kubernetes manifests offline against the Kubernetes OpenAPI schemas,
// failing on unknown fields (what `kubectl apply --validate=strict` would reject).
//
//   node tools/validate-k8s.mjs                 renders k8s, k8s/overlays/* with kubectl kustomize
//   node tools/validate-k8s.mjs DIR...          renders those kustomizations
//   kubectl kustomize k8s | node tools/validate-k8s.mjs -     reads multi-document YAML on stdin
//
// Two passes over every object, both from the `kubernetes-models` package (types and
// validators generated from the Kubernetes OpenAPI spec):
//   1. its JSON-schema validators (ajv, precompiled): types, required fields, enums, formats;
//   2. TypeScript's excess-property check against its interfaces (`const o: IDeployment =
//      {...}`): any field the API does not define fails, at any depth, with its path.
// The validators alone accept unknown fields (the OpenAPI schemas do not close objects),
// hence pass 2.
//
// Needs (devDependencies): kubernetes-models, yaml, typescript; and kubectl on PATH unless
// YAML comes on stdin. Exit 0 when every object is valid, 1 otherwise.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const YAML = require('yaml');
const ts = require('typescript');

// ---- input --------------------------------------------------------------------------------
function render(dir) {
  return execFileSync('kubectl', ['kustomize', dir], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function defaultTargets() {
  const targets = ['k8s'];
  const overlays = join(root, 'k8s', 'overlays');
  if (existsSync(overlays)) {
    for (const d of readdirSync(overlays, { withFileTypes: true })) {
      if (d.isDirectory()) targets.push(`k8s/overlays/${d.name}`);
    }
  }
  return targets;
}

const args = process.argv.slice(2);
/** @type {{source: string, text: string}[]} */
const inputs = [];
let failures = 0;
if (args.length === 1 && args[0] === '-') {
  inputs.push({ source: 'stdin', text: readFileSync(0, 'utf8') });
} else {
  for (const dir of args.length ? args : defaultTargets()) {
    try {
      inputs.push({ source: dir, text: render(dir) });
    } catch (err) {
      failures++;
      console.error(`✗ ${dir}: kubectl kustomize failed\n${err.stderr || err.message}`);
    }
  }
}

// ---- pass 1: schema validators --------------------------------------------------------------
function modelPath(apiVersion, kind) {
  // apiVersion "v1" -> kubernetes-models/v1/Pod; "apps/v1" -> kubernetes-models/apps/v1/Deployment
  try {
    return require.resolve(`kubernetes-models/${apiVersion}/${kind}`);
  } catch {
    return null;
  }
}

function schemaErrors(obj, path) {
  const Model = require(path)[obj.kind];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    const errors = err.errors ?? err.details ?? [];
    if (!errors.length) return [err.message];
    return errors.map((e) => {
      const at = (e.instancePath || '')
        .replace(/^\//, '')
        .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
        .replaceAll('/', '.');
      const allowed = e.params?.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : '';
      return `${at || '(root)'}: ${e.message}${allowed}`;
    });
  }
}

// ---- pass 2: unknown fields through TypeScript's excess-property check ----------------------
function excessPropertyErrors(items) {
  const file = join(root, '__validate_k8s__.ts');
  const lines = [];
  items.forEach((item, i) => {
    const dts = item.path.replace(/\.(c|m)?js$/, '');
    lines.push(`import type { I${item.obj.kind} as T${i} } from ${JSON.stringify(dts)};`);
  });
  const starts = [];
  let text = lines.join('\n') + '\n';
  items.forEach((item, i) => {
    starts.push(text.length);
    text += `export const o${i}: T${i} = ${JSON.stringify(item.obj, null, 1)};\n`;
  });
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2020.d.ts'],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2020,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file
      ? ts.createSourceFile(name, text, lang, true)
      : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === file ? text : readFile(name));
  const program = ts.createProgram([file], options, host);
  const sf = program.getSourceFile(file);
  const diagnostics = [
    ...program.getSyntacticDiagnostics(sf),
    ...program.getSemanticDiagnostics(sf),
  ];
  /** @type {Map<number, string[]>} */
  const byItem = new Map();
  for (const d of diagnostics) {
    // Missing required properties are already reported by the schema validators (pass 1).
    if (d.code === 2741 || d.code === 2739) continue;
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file !== sf || d.start === undefined) {
      byItem.set(-1, [...(byItem.get(-1) ?? []), message]);
      continue;
    }
    let i = starts.length - 1;
    while (i > 0 && starts[i] > d.start) i--;
    byItem.set(i, [...(byItem.get(i) ?? []), `${jsonPath(sf, d.start)}: ${lastLine(message)}`]);
  }
  return byItem;
}

function lastLine(message) {
  const lines = message.split('\n').map((l) => l.trim());
  return lines[lines.length - 1];
}

// Path of the property at `pos` in the object literal, e.g. spec.template.spec.containers[0].x
function jsonPath(sf, pos) {
  let node = sf;
  for (;;) {
    const child = node.getChildren(sf).find((c) => c.getStart(sf) <= pos && pos < c.getEnd());
    if (!child) break;
    node = child;
  }
  const parts = [];
  for (let n = node; n && !ts.isVariableDeclaration(n); n = n.parent) {
    if (ts.isPropertyAssignment(n)) parts.unshift(n.name.getText(sf).replace(/^"|"$/g, ''));
    if (n.parent && ts.isArrayLiteralExpression(n.parent)) {
      parts.unshift(`[${n.parent.elements.indexOf(n)}]`);
    }
  }
  return parts.join('.').replaceAll('.[', '[') || '(root)';
}

// ---- run ------------------------------------------------------------------------------------
for (const { source, text } of inputs) {
  const items = [];
  let count = 0;
  let unknown = 0;
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length) {
      failures++;
      console.error(`✗ ${source}: YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;
    count++;
    const id = `${obj.apiVersion} ${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
    const path =
      typeof obj.kind === 'string' && typeof obj.apiVersion === 'string'
        ? modelPath(obj.apiVersion, obj.kind)
        : null;
    if (!path) {
      failures++;
      console.error(`✗ ${source}: ${id}: unknown apiVersion/kind (no schema)`);
      unknown++;
      continue;
    }
    items.push({ obj, id, path, errors: schemaErrors(obj, path) });
  }
  const excess = items.length ? excessPropertyErrors(items) : new Map();
  for (const message of excess.get(-1) ?? []) {
    failures++;
    console.error(`✗ ${source}: ${message}`);
  }
  let bad = unknown;
  items.forEach((item, i) => {
    const errors = [...item.errors, ...(excess.get(i) ?? [])];
    if (!errors.length) return;
    bad++;
    failures++;
    console.error(`✗ ${source}: ${item.id}\n${errors.map((e) => `    ${e}`).join('\n')}`);
  });
  console.log(`${bad ? '✗' : '✓'} ${source}: ${count - bad}/${count} objects valid`);
}

if (failures) {
  console.error(`${failures} error(s)`);
  process.exit(1);
}
