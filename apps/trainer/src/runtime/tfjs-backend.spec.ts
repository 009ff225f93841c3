import { describe, expect, it } from 'vitest';
import { availableTfjsBackends, chooseTfjsBackend } from './tfjs-backend.js';

describe('tfjs backend choice', () => {
  it('always has the pure-JS cpu backend last, wasm when its package is installed', () => {
    const available = availableTfjsBackends();
    expect(available[available.length - 1]).toBe('cpu');
    expect(available).toContain('wasm');
  });

  it('honours an available request and falls back to the best one otherwise', () => {
    expect(chooseTfjsBackend('cpu')).toBe('cpu');
    expect(chooseTfjsBackend('auto')).toBe(availableTfjsBackends()[0]);
    const missing = availableTfjsBackends().includes('tensorflow-gpu') ? null : 'tensorflow-gpu';
    if (missing) expect(chooseTfjsBackend(missing)).toBe(availableTfjsBackends()[0]);
  });
});
