// The settings the platform ships with, read from the files that ship it, so that benchmarks run
// it as a user would (`--as-shipped`, the default) rather than with settings of their own.
//
//   scripts/dev.sh (the README's quick start): the apps' own defaults, nothing set
//   docker-compose.yml: the `x-maas-env` block and each service's `${VAR:-default}`
//   k8s/base: the maas-config ConfigMap literals
//
// Only settings that change what a request or an idle process costs are taken (logging, the
// worker's runtime and batching); ports, credentials and storage stay the benchmark's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path) => readFileSync(join(root, path), 'utf8');

/** Settings that matter to performance, by the app that reads them. */
const MEASURED = {
  all: ['LOG_LEVEL'],
  inference: [
    'ORT_INTRA_OP_THREADS',
    'BATCH_MAX_SIZE',
    'BATCH_MAX_QUEUE_DELAY_MS',
    'WORKER_HEARTBEAT_MS',
  ],
  gateway: ['USAGE_FLUSH_MS', 'USAGE_BUFFER_MS'],
  trainer: [],
};

/** `KEY: value` / `KEY: ${KEY:-default}` lines of a compose block, as the default expands. */
function composeValues(text) {
  const values = {};
  for (const match of text.matchAll(/^\s+([A-Z][A-Z0-9_]*): *(.+?)\s*(?:#.*)?$/gm)) {
    const raw = match[2].replace(/^'(.*)'$/, '$1');
    const expanded = /^\$\{[A-Z0-9_]+:-(.*)\}$/.exec(raw);
    values[match[1]] = expanded ? expanded[1] : raw;
  }
  return values;
}

/** The lines under `anchor` indented deeper than the line that holds it. */
function composeBlock(text, anchor) {
  const lines = text.split('\n');
  const at = lines.findIndex((line) => line.includes(anchor));
  if (at < 0) throw new Error(`docker-compose.yml: ${anchor} not found`);
  const indent = (line) => /^ */.exec(line)[0].length;
  const block = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() && indent(line) <= indent(lines[at])) break;
    block.push(line);
  }
  return block.join('\n');
}

export function shippedSettings() {
  const compose = read('docker-compose.yml');
  const common = composeValues(composeBlock(compose, 'x-maas-env'));
  const inference = {
    ...common,
    ...composeValues(composeBlock(compose, 'environment: &inference-env')),
  };
  const kustomization = read('k8s/base/kustomization.yaml');
  const k8s = Object.fromEntries(
    [...kustomization.matchAll(/^\s+- ([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]),
  );
  const sources = {
    'docker-compose.yml': { all: common, inference, gateway: common, trainer: common },
    'k8s/base': { all: k8s, inference: k8s, gateway: k8s, trainer: k8s },
  };
  const env = { gateway: {}, inference: {}, trainer: {} };
  const notes = [];
  for (const [app, names] of Object.entries(MEASURED)) {
    for (const name of names) {
      const set = Object.entries(sources)
        .map(([source, byApp]) => [source, byApp[app][name]])
        .filter(([, value]) => value !== undefined);
      if (set.length === 0) continue; // the app's default everywhere, as dev.sh runs it
      const values = new Set(set.map(([, value]) => value));
      if (values.size > 1 || set.length < Object.keys(sources).length) {
        notes.push(
          `${name}: ${set.map(([s, v]) => `${s} ${v}`).join(', ')}; left at the app default`,
        );
        continue;
      }
      // scripts/dev.sh sets none of these: the quick start runs the apps' defaults.
      notes.push(
        `${name}=${[...values][0]} (docker-compose.yml and k8s/base; scripts/dev.sh: the app default)`,
      );
      for (const target of app === 'all' ? Object.keys(env) : [app])
        env[target][name] = [...values][0];
    }
  }
  return { env, notes };
}
