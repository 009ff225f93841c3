import { describe, expect, it } from 'vitest';
import {
  activateTfjsBackend,
  availableTfjsBackends,
  chooseTfjsBackend,
  loadTfjs,
  type TfjsBackendName,
  tfjsBackendOrder,
} from './tfjs-backend.js';

const ALL: TfjsBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

// First in this file: nothing before it may load TF.js (its engine is a global once loaded).
describe('loadTfjs', () => {
  it('loads TF.js on the first call, not when the lib is imported, and once only', async () => {
    expect('_tfengine' in globalThis).toBe(false);
    const tf = await loadTfjs();
    expect('_tfengine' in globalThis).toBe(true);
    expect(await loadTfjs()).toBe(tf);
    expect(typeof tf.tensor).toBe('function');
  });
});

describe('availableTfjsBackends', () => {
  it('lists the backends whose package is installed, best first, cpu always last', () => {
    expect(availableTfjsBackends(() => true)).toEqual(ALL);
    expect(availableTfjsBackends(() => false)).toEqual(['cpu']);
    expect(availableTfjsBackends((pkg) => pkg !== '@tensorflow/tfjs-node-gpu')).toEqual([
      'tensorflow',
      'wasm',
      'cpu',
    ]);
  });

  it('finds wasm here (a dependency) and never lacks cpu', () => {
    const available = availableTfjsBackends();
    expect(available.at(-1)).toBe('cpu');
    expect(available).toContain('wasm');
  });
});

describe('tfjsBackendOrder and chooseTfjsBackend', () => {
  const nodeWasmCpu: TfjsBackendName[] = ['tensorflow', 'wasm', 'cpu'];

  it('auto: the available ones, best first', () => {
    expect(tfjsBackendOrder('auto', ALL)).toEqual(ALL);
    expect(chooseTfjsBackend('auto', nodeWasmCpu)).toBe('tensorflow');
    expect(chooseTfjsBackend('auto', ['cpu'])).toBe('cpu');
  });

  it('an available request first, then the rest best first', () => {
    expect(tfjsBackendOrder('wasm', ALL)).toEqual(['wasm', 'tensorflow-gpu', 'tensorflow', 'cpu']);
    expect(tfjsBackendOrder('cpu', nodeWasmCpu)).toEqual(['cpu', 'tensorflow', 'wasm']);
    expect(chooseTfjsBackend('cpu', nodeWasmCpu)).toBe('cpu');
  });

  it('a request that is not installed falls back to the best available one', () => {
    expect(tfjsBackendOrder('tensorflow-gpu', nodeWasmCpu)).toEqual(nodeWasmCpu);
    expect(chooseTfjsBackend('tensorflow-gpu', nodeWasmCpu)).toBe('tensorflow');
    expect(chooseTfjsBackend('tensorflow', ['wasm', 'cpu'])).toBe('wasm');
  });
});

describe('activateTfjsBackend', () => {
  const starting = (working: TfjsBackendName[]) => {
    const tried: TfjsBackendName[] = [];
    const start = async (name: TfjsBackendName) => {
      tried.push(name);
      return working.includes(name);
    };
    return { tried, start };
  };

  it('falls back node-gpu → node → wasm → cpu until one starts', async () => {
    const gpuBroken = starting(['tensorflow', 'wasm', 'cpu']);
    expect(await activateTfjsBackend('auto', gpuBroken.start, ALL)).toBe('tensorflow');
    expect(gpuBroken.tried).toEqual(['tensorflow-gpu', 'tensorflow']);

    const onlyCpu = starting(['cpu']);
    expect(await activateTfjsBackend('auto', onlyCpu.start, ALL)).toBe('cpu');
    expect(onlyCpu.tried).toEqual(ALL);
  });

  it('tries the requested backend first, and the others when it does not start', async () => {
    const all = starting(ALL);
    expect(await activateTfjsBackend('wasm', all.start, ALL)).toBe('wasm');
    expect(all.tried).toEqual(['wasm']);

    const wasmBroken = starting(['tensorflow', 'cpu']);
    expect(await activateTfjsBackend('wasm', wasmBroken.start, ALL)).toBe('tensorflow');
    expect(wasmBroken.tried).toEqual(['wasm', 'tensorflow-gpu', 'tensorflow']);
  });

  it('fails when no backend starts', async () => {
    await expect(activateTfjsBackend('auto', starting([]).start, ALL)).rejects.toThrow(
      'no TensorFlow.js backend could start',
    );
  });

  it('starts the real wasm and cpu backends', async () => {
    const tf = await loadTfjs();
    expect(await activateTfjsBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(await activateTfjsBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0]).toBe(5);
  });
});
