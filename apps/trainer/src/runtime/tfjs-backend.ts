import { createRequire } from 'node:module';

export type TfjsBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

const require = createRequire(import.meta.url);

// The native bindings are optional dependencies: present on GPU/CPU images built where their
// install could download libtensorflow, absent elsewhere.
const NATIVE_PACKAGES: [TfjsBackendName, string][] = [
  ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
  ['tensorflow', '@tensorflow/tfjs-node'],
];

function installed(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

/** Backends this process could train on, best first. */
export function availableTfjsBackends(): TfjsBackendName[] {
  const native = NATIVE_PACKAGES.filter(([, pkg]) => installed(pkg)).map(([name]) => name);
  const wasm: TfjsBackendName[] = installed('@tensorflow/tfjs-backend-wasm') ? ['wasm'] : [];
  return [...native, ...wasm, 'cpu'];
}

/** The configured backend if available, else the best available one. */
export function chooseTfjsBackend(requested: 'auto' | TfjsBackendName): TfjsBackendName {
  const available = availableTfjsBackends();
  if (requested !== 'auto' && available.includes(requested)) return requested;
  return available[0];
}
