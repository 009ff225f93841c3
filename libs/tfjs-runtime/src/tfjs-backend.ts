import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// TF.js costs about a second and 20 MB to load: nothing here imports it until asked to
// (loadTfjs), so a process that never runs a TF.js model never pays for it.

/** The TensorFlow.js module, as loadTfjs answers it. */
export type Tf = typeof import('@tensorflow/tfjs');

/** A TensorFlow.js backend, by what runs it: tfjs-node-gpu, tfjs-node, wasm, pure JS. */
export type TfjsBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
/** TFJS_BACKEND: one backend, or `auto` for the best one that starts. */
export type TfjsBackendRequest = 'auto' | TfjsBackendName;

const require = createRequire(import.meta.url);

let loading: Promise<Tf> | undefined;

/** Loads @tensorflow/tfjs on first call (a dynamic import), the same module every time after. */
export function loadTfjs(): Promise<Tf> {
  loading ??= import('@tensorflow/tfjs');
  return loading;
}

/**
 * Every backend, best first, with the package that brings it. The native bindings are optional
 * dependencies, present on images built where libtensorflow could be installed; the pure-JS
 * cpu backend comes with @tensorflow/tfjs itself.
 */
const BACKENDS: readonly { name: TfjsBackendName; package?: string; native?: true }[] = [
  { name: 'tensorflow-gpu', package: '@tensorflow/tfjs-node-gpu', native: true },
  { name: 'tensorflow', package: '@tensorflow/tfjs-node', native: true },
  { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm' },
  { name: 'cpu' },
];

function isInstalled(packageName: string): boolean {
  try {
    require.resolve(packageName);
  } catch {
    return false;
  }
  if (!BACKENDS.some((b) => b.package === packageName && b.native)) return true;
  // A native binding's package can be present without its binary (its install script, which
  // downloads libtensorflow, did not run or failed): usable only with lib/napi-v*/tfjs_binding.node.
  const lib = join(dirname(require.resolve(`${packageName}/package.json`)), 'lib');
  try {
    return readdirSync(lib).some((dir) => existsSync(join(lib, dir, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

/** Backends whose package is installed, best first; cpu always, last. */
export function availableTfjsBackends(
  installed: (packageName: string) => boolean = isInstalled,
): TfjsBackendName[] {
  return BACKENDS.filter((b) => b.package === undefined || installed(b.package)).map((b) => b.name);
}

/**
 * The order backends are tried in: the requested one first when it is available, then the
 * others available, best first (tfjs-node-gpu → tfjs-node → wasm → cpu).
 */
export function tfjsBackendOrder(
  requested: TfjsBackendRequest,
  available: readonly TfjsBackendName[] = availableTfjsBackends(),
): TfjsBackendName[] {
  if (requested === 'auto' || !available.includes(requested)) return [...available];
  return [requested, ...available.filter((b) => b !== requested)];
}

/** The backend TF.js is expected to run on, without starting any (what a job records). */
export function chooseTfjsBackend(
  requested: TfjsBackendRequest,
  available: readonly TfjsBackendName[] = availableTfjsBackends(),
): TfjsBackendName {
  return tfjsBackendOrder(requested, available)[0]!;
}

/** Makes `name` this process's TF.js backend; false when it cannot start. */
async function startTfjsBackend(name: TfjsBackendName): Promise<boolean> {
  try {
    const tf = await loadTfjs();
    let registered: string = name;
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      // Importing the native binding registers its 'tensorflow' backend (GPU or CPU build).
      await import(
        name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'
      );
      registered = 'tensorflow';
    } else if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dist = join(
        dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
        'dist',
      );
      wasm.setWasmPaths(`${dist}/`);
    }
    if (!(await tf.setBackend(registered)) || tf.getBackend() !== registered) return false;
    await tf.ready();
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes the requested backend this process's TF.js backend, else the best available one that
 * starts (tfjs-node-gpu → tfjs-node → wasm → cpu), and answers which one runs. `start` starts
 * one backend (the real thing unless a test says otherwise).
 */
export async function activateTfjsBackend(
  requested: TfjsBackendRequest = 'auto',
  start: (name: TfjsBackendName) => Promise<boolean> = startTfjsBackend,
  available: readonly TfjsBackendName[] = availableTfjsBackends(),
): Promise<TfjsBackendName> {
  for (const name of tfjsBackendOrder(requested, available)) {
    if (await start(name)) return name;
  }
  throw new Error('no TensorFlow.js backend could start');
}
