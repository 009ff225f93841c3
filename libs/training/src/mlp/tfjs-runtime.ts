import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type TfjsBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

const require = createRequire(import.meta.url);

async function tryActivate(name: TfjsBackendName): Promise<boolean> {
  try {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      // Importing the native binding registers its 'tensorflow' backend (GPU or CPU build).
      await import(
        name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'
      );
      return (await tf.setBackend('tensorflow')) && tf.getBackend() === 'tensorflow';
    }
    if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dist = join(
        dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
        'dist',
      );
      wasm.setWasmPaths(`${dist}/`);
      return (await tf.setBackend('wasm')) && tf.getBackend() === 'wasm';
    }
    return (await tf.setBackend('cpu')) && tf.getBackend() === 'cpu';
  } catch {
    return false;
  }
}

const ORDER: TfjsBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * Activates the requested backend, else the best one that starts (tfjs-node-gpu → tfjs-node →
 * wasm → cpu), and answers which one runs.
 */
export async function activateTfjsBackend(
  requested: 'auto' | TfjsBackendName = 'auto',
): Promise<TfjsBackendName> {
  const order = requested === 'auto' ? ORDER : [requested, ...ORDER.filter((b) => b !== requested)];
  for (const name of order) {
    if (await tryActivate(name)) {
      await tf.ready();
      return name;
    }
  }
  throw new Error('no TensorFlow.js backend could start');
}

export { tf };
