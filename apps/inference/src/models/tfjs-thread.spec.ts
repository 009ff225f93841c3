import * as tf from '@tensorflow/tfjs';
import { DomainError } from '@maas/app-runtime';
import { InvalidModelError } from '@maas/model-registry';
import { loopTurnsDuring, packTfjsLayersModel } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { loadTfjsRuntime } from './tfjs-runtime.js';
import { TfjsThread, TfjsThreads } from './tfjs-thread.js';

// The thread runs the built tfjs-execution module: `node tools/build.mjs` first, as the test
// command does.

const INPUTS = [{ name: 'hidden_input', datatype: 'FP32' as const, shape: [-1, 64] }];
const OUTPUTS = [{ name: 'probs', datatype: 'FP32' as const, shape: [-1, 2] }];

/** Dense 64 → 512 → 512 → 2: enough compute for 2,000 rows to take the thread a while. */
async function archive(): Promise<Buffer> {
  tf.env().set('PROD', true);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [64], units: 512, activation: 'relu', name: 'hidden' }),
      tf.layers.dense({ units: 512, activation: 'relu', name: 'wide' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'probs' }),
    ],
  });
  const zip = await packTfjsLayersModel(model);
  model.dispose();
  return zip;
}

/** The thread takes the bytes it is given (as the model cache hands them over): a copy of its own. */
const handed = (bytes: Buffer) => Buffer.from(bytes);

const rows = (count: number) => ({
  name: 'hidden_input',
  datatype: 'FP32' as const,
  shape: [count, 64],
  data: Float32Array.from({ length: count * 64 }, (_, i) => ((i * 7) % 17) / 17),
});

describe('TfjsThread', () => {
  const thread = new TfjsThread('auto', 5);

  it('computes what the event loop computes, and the loop turns meanwhile', async () => {
    const zip = await archive();
    const [onThread, onLoop] = await Promise.all([
      thread.load('t', handed(zip), INPUTS, OUTPUTS),
      loadTfjsRuntime(zip, INPUTS, OUTPUTS),
    ]);
    expect(onThread.alive).toBe(true);
    expect(onThread.backend).toBe(onLoop.backend);
    const { result, turns } = await loopTurnsDuring(() => onThread.run([rows(2_000)], ['probs']));
    const expected = await onLoop.run([rows(2_000)], ['probs']);
    expect(result[0]!.shape).toEqual([2_000, 2]);
    expect(Array.from(result[0]!.data as Float32Array)).toEqual(
      Array.from(expected[0]!.data as Float32Array),
    );
    // ~2 GFLOP on the thread; run on the loop, it was a single turn.
    expect(turns).toBeGreaterThan(20);
    await Promise.all([onThread.release(), onLoop.release()]);
  }, 60_000);

  it("answers a request TF.js cannot take as the loop's path does (400, same message)", async () => {
    const zip = await archive();
    const runtime = await thread.load('t', handed(zip), INPUTS, OUTPUTS);
    const onLoop = await loadTfjsRuntime(zip, INPUTS, OUTPUTS);
    for (const feeds of [
      [{ ...rows(1), name: 'other' }],
      [{ ...rows(1), datatype: 'FP64' as const, data: new Float64Array(64) }],
    ]) {
      const error = await runtime.run(feeds, ['probs']).catch((e: unknown) => e);
      const expected = await onLoop.run(feeds, ['probs']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: (expected as Error).message,
      });
    }
    // A shape the model cannot take: refused by TF.js itself, as on the loop.
    const wrong = { ...rows(1), shape: [1, 32], data: new Float32Array(32) };
    const error = await runtime.run([wrong], ['probs']).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toMatch(/^model rejected the request: /);
    // And it still serves.
    expect((await runtime.run([rows(3)], ['probs']))[0]!.shape).toEqual([3, 2]);
    await Promise.all([runtime.release(), onLoop.release()]);
  }, 60_000);

  it('refuses bytes that are not a TF.js archive with InvalidModelError, as the loop did', async () => {
    const bytes = Buffer.from('PK\u0003\u0004 not really a zip');
    const error = await thread.load('t', handed(bytes), INPUTS, OUTPUTS).catch((e: unknown) => e);
    const expected = await loadTfjsRuntime(bytes, INPUTS, OUTPUTS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidModelError);
    expect((error as Error).message).toBe((expected as Error).message);
  }, 60_000);

  it('says it is ready once TF.js is up there, and a probe never waits behind a running model', async () => {
    const probe = new TfjsThread('auto', 5);
    const backend = await probe.ready();
    expect(backend).toMatch(/^tfjs-/);
    const runtime = await probe.load('t', await archive(), INPUTS, OUTPUTS);
    expect(runtime.backend).toBe(backend);
    let ranFor = 0;
    const started = performance.now();
    const running = runtime.run([rows(4_000)], ['probs']).then(() => {
      ranFor = performance.now() - started;
    });
    // Asked while the thread computes: answered here, not by the busy thread.
    expect(await probe.ready()).toBe(backend);
    expect(ranFor).toBe(0);
    await running;
    expect(ranFor).toBeGreaterThan(0);
    await runtime.release();
  }, 60_000);
});

describe('TfjsThreads: each tenant’s TF.js versions on a thread of their own', () => {
  it("answers tenant B while tenant A's model computes on A's thread; B's versions stay on B's", async () => {
    const threads = new TfjsThreads(2, 'auto', 5);
    const zip = await archive();
    const a = await threads.load('a', handed(zip), INPUTS, OUTPUTS);
    const b = await threads.load('b', handed(zip), INPUTS, OUTPUTS);
    const b2 = await threads.load('b', handed(zip), INPUTS, OUTPUTS);
    expect(threads.tenantsPerThread()).toEqual([['a'], ['b']]);
    const order: string[] = [];
    const heavy = a.run([rows(8_000)], ['probs']).then(() => order.push('a'));
    // B's runs start after A's and finish first: they never queue behind it (on one shared
    // thread each waited for A's whole computation).
    for (let i = 0; i < 5; i++) {
      const [probs] = await (i % 2 === 0 ? b : b2).run([rows(1)], ['probs']);
      expect(probs!.shape).toEqual([1, 2]);
      order.push('b');
    }
    await heavy;
    expect(order).toEqual(['b', 'b', 'b', 'b', 'b', 'a']);
    // A tenant whose last version is released leaves its thread.
    await Promise.all([a.release(), b.release()]);
    expect(threads.tenantsPerThread()).toEqual([[], ['b']]);
    await b2.release();
    expect(threads.tenantsPerThread()).toEqual([[], []]);
  }, 60_000);
});
