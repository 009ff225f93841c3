import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, DomainError } from '@maas/app-runtime';
import type { ModelVersion, PrismaService } from '@maas/db';
import { createObjectStore, InvalidModelError, type ObjectStore } from '@maas/model-registry';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type InferenceConfig, inferenceConfigSchema } from '../config/inference-config.js';
import { InferenceMetrics } from '../inference/inference.metrics.js';
import { type LoadedModel, ModelCacheService } from './model-cache.service.js';
import type { ModelRuntime } from './model-runtime.js';
import type { VersionLookupService } from './version-lookup.service.js';

const KiB = 1024;

/**
 * The cache's memory policy with fake runtimes: real artifact bytes from a real fs store (read,
 * sha256-checked), a fake session per version whose opening the test controls. Every event
 * (open, release) goes to one log, so tests assert order, not timing.
 */
class FakeRuntimeCache extends ModelCacheService {
  readonly log: string[] = [];
  readonly gates = new Map<string, Promise<void>>();
  /** Versions whose bytes the fake runtime refuses: as the sandbox would, or as garbage. */
  readonly refusals = new Map<string, 'sandbox' | 'unloadable'>();

  protected override async openRuntime(version: ModelVersion): Promise<ModelRuntime> {
    this.log.push(`open ${version.id}`);
    await this.gates.get(version.id);
    const refusal = this.refusals.get(version.id);
    if (refusal === 'sandbox') {
      throw new InvalidModelError(`initializer 'W' stores its data outside the model`);
    }
    if (refusal === 'unloadable') throw new Error('protobuf parsing failed');
    return {
      backend: 'fake',
      run: async () => [],
      release: async () => void this.log.push(`release ${version.id}`),
    };
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Metric values by label set, e.g. { 'result=ok': 2 }. */
async function counts(metric: { get(): Promise<{ values: { labels: object; value: number }[] }> }) {
  const { values } = await metric.get();
  return Object.fromEntries(
    values.map((v) => [
      Object.entries(v.labels)
        .map(([k, l]) => `${k}=${String(l)}`)
        .join(','),
      v.value,
    ]),
  );
}

describe('ModelCacheService memory policy (fake runtimes)', () => {
  let root: string;
  let store: ObjectStore;
  const marked: string[] = [];
  let cache: FakeRuntimeCache;
  let metrics: InferenceMetrics;

  const versions = {
    markCorrupt: async (version: ModelVersion) => {
      marked.push(`corrupt ${version.id}`);
      return true;
    },
    markFailed: async (version: ModelVersion) => void marked.push(`failed ${version.id}`),
  } as unknown as VersionLookupService;

  /** A stored version of `sizeBytes` random-ish bytes (sha256 recorded unless `sha256`). */
  async function stored(
    id: string,
    tenantId: string,
    sizeBytes: number,
    options: { sha256?: string } = {},
  ): Promise<ModelVersion> {
    const bytes = Buffer.alloc(sizeBytes, id);
    await store.put(`${id}.bin`, bytes);
    return {
      id,
      tenantId,
      number: 1,
      artifactKey: `${id}.bin`,
      sha256: options.sha256 ?? createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: BigInt(sizeBytes),
      encrypted: false,
      format: 'onnx',
      servingConfig: null,
      inputs: [],
      outputs: [],
    } as unknown as ModelVersion;
  }

  function start(config: Partial<InferenceConfig>, objectStore: ObjectStore = store): void {
    metrics = new InferenceMetrics(new Registry());
    cache = new FakeRuntimeCache(
      objectStore,
      { ...inferenceConfigSchema.parse({}), ...config },
      createLogger({ name: 'test', level: 'silent' }),
      versions,
      metrics,
      {} as PrismaService, // only used for encrypted artifacts
    );
  }

  /** Acquires and releases at once: the version is loaded and idle. */
  async function touch(version: ModelVersion): Promise<LoadedModel> {
    const loaded = await cache.acquire(version);
    cache.release(loaded);
    return loaded;
  }

  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as DomainError & { retryAfterSeconds?: number },
    );

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'maas-cache-policy-'));
    store = createObjectStore({ driver: 'fs', root });
  });

  afterEach(async () => {
    vi.useRealTimers();
    marked.length = 0;
    await cache?.onModuleDestroy();
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reserves a load’s memory before reading it, and waits for room instead of going over', async () => {
    // Charges 40 KiB each (20 KiB × 2): two fit in 100 KiB, a third only once one is gone.
    start({
      MODEL_CACHE_BYTES: 100 * KiB,
      MODEL_MEMORY_FACTOR: 2,
      MODEL_CACHE_TENANT_SHARE: 1,
      MAX_CONCURRENT_LOADS: 3,
      MAX_CONCURRENT_LOADS_PER_TENANT: 3,
    });
    const [v1, v2, v3] = await Promise.all(
      ['v1', 'v2', 'v3'].map((id) => stored(id, 't', 20 * KiB)),
    );
    const g1 = gate();
    cache.gates.set('v1', g1.promise);
    cache.gates.set('v2', new Promise(() => undefined)); // v2 stays loading
    const first = cache.acquire(v1!);
    void cache.acquire(v2!).catch(() => undefined);
    const third = cache.acquire(v3!);
    // Reserved before a byte was read: two loads hold 80 KiB, the third waits.
    expect(await metrics.loadReservedBytes.get()).toMatchObject({ values: [{ value: 80 * KiB }] });
    expect(await metrics.loadsInProgress.get()).toMatchObject({ values: [{ value: 2 }] });
    expect(await metrics.loadsWaiting.get()).toMatchObject({ values: [{ value: 1 }] });
    // (Reads finish in either order.)
    await vi.waitFor(() => expect([...cache.log].sort()).toEqual(['open v1', 'open v2']));
    expect(await counts(metrics.artifactReads)).toEqual({ 'result=ok': 2 });

    // v1 loads and its waiting request holds it: v3 needs its room, so v1 is evicted at once
    // but drains (its memory still counts) and v3 still waits.
    g1.open();
    const m1 = await first;
    expect(m1.evicted).toBe(true);
    expect(await metrics.loadsWaiting.get()).toMatchObject({ values: [{ value: 1 }] });
    expect(cache.log).toHaveLength(2);
    // Its request ends: v1's session goes, then v3 is read and opened in its room.
    cache.release(m1);
    const m3 = await third;
    expect(cache.log.slice(2)).toEqual(['release v1', 'open v3']);
    expect(await counts(metrics.cacheEvictions)).toEqual({ 'reason=budget': 1 });
    expect(await metrics.loadReservedBytes.get()).toMatchObject({ values: [{ value: 40 * KiB }] });
    cache.release(m3);
  });

  it('caps loads in progress at MAX_CONCURRENT_LOADS and gives a freed slot to the tenant with fewest', async () => {
    start({
      MODEL_CACHE_BYTES: 10_000 * KiB,
      MAX_CONCURRENT_LOADS: 2,
      MAX_CONCURRENT_LOADS_PER_TENANT: 2,
    });
    const [a1, a2, a3, b1] = await Promise.all([
      stored('fa1', 'A', KiB),
      stored('fa2', 'A', KiB),
      stored('fa3', 'A', KiB),
      stored('fb1', 'B', KiB),
    ]);
    const g1 = gate();
    cache.gates.set('fa1', g1.promise);
    cache.gates.set('fa2', new Promise(() => undefined));
    const loads = [a1!, a2!, a3!, b1!].map((v) => cache.acquire(v));
    // a2 never loads and a3 never gets a slot: both are refused at shutdown.
    loads.forEach((p) => void p.catch(() => undefined));
    expect(await metrics.loadsInProgress.get()).toMatchObject({ values: [{ value: 2 }] });
    expect(await metrics.loadsWaiting.get()).toMatchObject({ values: [{ value: 2 }] });
    await vi.waitFor(() => expect([...cache.log].sort()).toEqual(['open fa1', 'open fa2']));
    // a1's slot frees: A still has a2 loading, B none, so B's later request goes first.
    g1.open();
    cache.release(await loads[0]!);
    cache.release(await loads[3]!);
    expect(cache.log.slice(2)).toEqual(['open fb1']);
  });

  it('lets one tenant hold at most MAX_CONCURRENT_LOADS_PER_TENANT slots, the others free for the rest', async () => {
    start({
      MODEL_CACHE_BYTES: 10_000 * KiB,
      MAX_CONCURRENT_LOADS: 2,
      MAX_CONCURRENT_LOADS_PER_TENANT: 1,
    });
    const [a1, a2, b1] = await Promise.all([
      stored('pa1', 'A', KiB),
      stored('pa2', 'A', KiB),
      stored('pb1', 'B', KiB),
    ]);
    const g1 = gate();
    cache.gates.set('pa1', g1.promise);
    const loads = [a1!, a2!].map((v) => cache.acquire(v));
    loads.forEach((p) => void p.catch(() => undefined));
    // A's second load waits although a slot is free…
    await vi.waitFor(() => expect(cache.log).toEqual(['open pa1']));
    expect(await metrics.loadsInProgress.get()).toMatchObject({ values: [{ value: 1 }] });
    expect(await metrics.loadsWaiting.get()).toMatchObject({ values: [{ value: 1 }] });
    // …which B's load takes at once.
    cache.release(await cache.acquire(b1!));
    expect(cache.log).toEqual(['open pa1', 'open pb1']);
    // A's first load done, its second starts.
    g1.open();
    cache.release(await loads[0]!);
    cache.release(await loads[1]!);
    expect(cache.log).toEqual(['open pa1', 'open pb1', 'open pa2']);
  });

  describe('LOAD_TIME_SHARE_PER_TENANT', () => {
    /** A's two cold versions, one slot for A, its first load held open `loadMs` (fake clock). */
    async function twoLoadsOfA(
      share: number,
      loadMs: number,
      otherTenantServed: boolean,
      waitMs = 10_000,
    ) {
      vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
      start({
        MODEL_CACHE_BYTES: 10_000 * KiB,
        MAX_CONCURRENT_LOADS: 2,
        MAX_CONCURRENT_LOADS_PER_TENANT: 1,
        LOAD_TIME_SHARE_PER_TENANT: share,
        MODEL_LOAD_WAIT_MS: waitMs,
      });
      const id = `${share}-${otherTenantServed}`;
      const [a1, a2, b1] = await Promise.all([
        stored(`s${id}a1`, 'A', KiB),
        stored(`s${id}a2`, 'A', KiB),
        stored(`s${id}b1`, 'B', KiB),
      ]);
      if (otherTenantServed) await touch(b1!);
      const g1 = gate();
      cache.gates.set(a1!.id, g1.promise);
      const first = cache.acquire(a1!);
      const second = cache.acquire(a2!);
      // (Polled on real I/O turns: vi.waitFor would move the fake clock the load is timed by.)
      const giveUpAt = Date.now() + 5_000; // (Date is not faked)
      while (cache.log.at(-1) !== `open ${a1!.id}`) {
        if (Date.now() > giveUpAt) throw new Error(`a1 never opened: ${cache.log.join(', ')}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      vi.advanceTimersByTime(loadMs);
      g1.open();
      cache.release(await first);
      return { second, a2: a2! };
    }

    it('pauses a tenant’s next load as long as its last one took while another tenant is served', async () => {
      // A's first load held its slot 400 ms; at a share of 0.5 its next starts 400 ms later.
      const { second, a2 } = await twoLoadsOfA(0.5, 400, true);
      await vi.advanceTimersByTimeAsync(0);
      expect(cache.log).not.toContain(`open ${a2.id}`);
      expect(await metrics.loadsPaused.get()).toMatchObject({ values: [{ value: 1 }] });
      expect(await metrics.loadPauses.get()).toMatchObject({ values: [{ value: 1 }] });
      await vi.advanceTimersByTimeAsync(390);
      expect(cache.log).not.toContain(`open ${a2.id}`);
      await vi.advanceTimersByTimeAsync(20);
      cache.release(await second);
      expect(cache.log.at(-1)).toBe(`open ${a2.id}`);
      expect(await metrics.loadsPaused.get()).toMatchObject({ values: [{ value: 0 }] });
    });

    it('a quarter share pauses three times the load', async () => {
      const { second, a2 } = await twoLoadsOfA(0.25, 100, true);
      await vi.advanceTimersByTimeAsync(290);
      expect(cache.log).not.toContain(`open ${a2.id}`);
      await vi.advanceTimersByTimeAsync(20);
      cache.release(await second);
      expect(cache.log.at(-1)).toBe(`open ${a2.id}`);
    });

    it('does not pause a tenant nobody else is waiting on: its next load starts at once', async () => {
      const { second, a2 } = await twoLoadsOfA(0.5, 400, false);
      cache.release(await second);
      expect(cache.log.at(-1)).toBe(`open ${a2.id}`);
      expect(await metrics.loadsPaused.get()).toMatchObject({ values: [{ value: 0 }] });
      expect(await metrics.loadPauses.get()).toMatchObject({ values: [{ value: 0 }] });
    });

    it('a load paused past MODEL_LOAD_WAIT_MS is refused like any wait: 503, and no longer counted as paused', async () => {
      // Waits from t≈0; A's first load ends at 400 and pauses the second until ~800; at 600
      // its wait is over.
      const { second, a2 } = await twoLoadsOfA(0.5, 400, true, 600);
      const failure = failureOf(second);
      await vi.advanceTimersByTimeAsync(0);
      expect(await metrics.loadsPaused.get()).toMatchObject({ values: [{ value: 1 }] });
      await vi.advanceTimersByTimeAsync(250);
      const error = await failure;
      expect(error?.code).toBe('UNAVAILABLE');
      expect(error?.retryAfterSeconds).toBe(1);
      expect(cache.log).not.toContain(`open ${a2.id}`);
      expect(await metrics.loadsPaused.get()).toMatchObject({ values: [{ value: 0 }] });
      expect(await counts(metrics.loadRefusals)).toEqual({ 'reason=wait_timeout': 1 });
    });

    it('a share of 1 never pauses', async () => {
      const { second, a2 } = await twoLoadsOfA(1, 400, true);
      cache.release(await second);
      expect(cache.log.at(-1)).toBe(`open ${a2.id}`);
    });
  });

  it('bounds the wait for room: 503 with Retry-After, nothing read, nothing remembered', async () => {
    start({
      MODEL_CACHE_BYTES: 100 * KiB,
      MODEL_MEMORY_FACTOR: 2,
      MODEL_CACHE_TENANT_SHARE: 1,
      MODEL_LOAD_WAIT_MS: 50,
    });
    const big = await stored('w-big', 't', 40 * KiB); // 80 KiB charged
    const small = await stored('w-small', 't', 20 * KiB); // 40 KiB: does not fit beside it
    const g = gate();
    cache.gates.set('w-big', g.promise);
    const loadingBig = cache.acquire(big);
    const refused = await failureOf(cache.acquire(small));
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'the inference worker is busy loading other models; retry shortly',
      retryAfterSeconds: 1,
    });
    expect(await counts(metrics.loadRefusals)).toEqual({ 'reason=wait_timeout': 1 });
    expect(await metrics.loadsWaiting.get()).toMatchObject({ values: [{ value: 0 }] });
    g.open();
    cache.release(await loadingBig);
    // Not a fact about the version: the next request loads it (the idle big one makes room).
    await touch(small);
    expect(await counts(metrics.artifactReads)).toEqual({ 'result=ok': 2 });
    expect(await counts(metrics.negativeCacheHits)).toEqual({ '': 0 });
  });

  it('over its share, a tenant evicts its own least recently used versions, never another tenant’s', async () => {
    // 120 KiB, a tenant 60 KiB; each version charged 20 KiB (10 KiB × 2).
    start({ MODEL_CACHE_BYTES: 120 * KiB, MODEL_MEMORY_FACTOR: 2, MODEL_CACHE_TENANT_SHARE: 0.5 });
    const b1 = await stored('sb1', 'B', 10 * KiB);
    const a = await Promise.all([1, 2, 3, 4, 5].map((i) => stored(`sa${i}`, 'A', 10 * KiB)));
    // B's version is the least recently used of all, yet A's loads only ever evict A's.
    await touch(b1);
    for (const version of a) await touch(version);
    expect(cache.log.filter((e) => e.startsWith('release'))).toEqual([
      'release sa1',
      'release sa2',
    ]);
    expect(cache.loadedVersionIds().sort()).toEqual(['sa3', 'sa4', 'sa5', 'sb1']);
    expect(await counts(metrics.cacheEvictions)).toEqual({ 'reason=tenant_share': 2 });

    // A third tenant within its share while the whole budget is short: plain LRU, any tenant.
    const c = await Promise.all([1, 2, 3].map((i) => stored(`sc${i}`, 'C', 10 * KiB)));
    for (const version of c) await touch(version);
    expect(cache.log.slice(-4)).toEqual(['open sc1', 'open sc2', 'release sb1', 'open sc3']);
    expect(await counts(metrics.cacheEvictions)).toEqual({
      'reason=tenant_share': 2,
      'reason=budget': 1,
    });
  });

  it('refuses a version larger than a tenant share with 413, before reading it', async () => {
    start({ MODEL_CACHE_BYTES: 100 * KiB, MODEL_MEMORY_FACTOR: 2, MODEL_CACHE_TENANT_SHARE: 0.5 });
    const huge = await stored('huge', 't', 30 * KiB); // 60 KiB charged > 50 KiB share
    const refused = await failureOf(cache.acquire(huge));
    expect(refused).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message:
        'version 1 needs an estimated 60 KiB of memory to serve, more than one tenant may hold on an inference worker (50 KiB)',
    });
    expect(refused?.retryAfterSeconds).toBeUndefined();
    expect(await counts(metrics.loadRefusals)).toEqual({ 'reason=too_large': 1 });
    expect(await counts(metrics.artifactReads)).toEqual({});
    expect(cache.log).toEqual([]);
  });

  it('without a recorded size, reserves a whole tenant share until the bytes are read', async () => {
    start({ MODEL_CACHE_BYTES: 100 * KiB, MODEL_MEMORY_FACTOR: 2, MODEL_CACHE_TENANT_SHARE: 0.5 });
    const unsized = { ...(await stored('unsized', 't', 10 * KiB)), sizeBytes: null };
    const g = gate();
    cache.gates.set('unsized', g.promise);
    const loading = cache.acquire(unsized);
    expect(await metrics.loadReservedBytes.get()).toMatchObject({ values: [{ value: 50 * KiB }] });
    await vi.waitFor(() => expect(cache.log).toEqual(['open unsized']));
    // Read: the reservation is settled on the real bytes (10 KiB × 2).
    expect(await metrics.loadReservedBytes.get()).toMatchObject({ values: [{ value: 20 * KiB }] });
    g.open();
    cache.release(await loading);

    // One whose bytes turn out larger than a share is refused once read, and remembered.
    const oversized = { ...(await stored('oversized', 't', 30 * KiB)), sizeBytes: null };
    for (let i = 0; i < 3; i++) {
      expect(await failureOf(cache.acquire(oversized))).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
      });
    }
    expect(await counts(metrics.artifactReads)).toEqual({ 'result=ok': 2 });
    expect(cache.log.filter((event) => event.startsWith('open'))).toEqual(['open unsized']);
  });

  it('remembers a corrupt artifact: a flood reads it once, until the memory expires', async () => {
    start({ MODEL_LOAD_FAILURE_CACHE_MS: 30_000 });
    vi.useFakeTimers({ toFake: ['Date'] });
    const corrupt = await stored('corrupt', 't', KiB, { sha256: 'f'.repeat(64) });
    const errors = [];
    for (let i = 0; i < 20; i++) errors.push(await failureOf(cache.acquire(corrupt)));
    for (const error of errors) {
      expect(error).toMatchObject({
        code: 'UNAVAILABLE',
        message: 'model version failed its integrity check',
      });
    }
    // The remembered answers say when the worker will look again.
    expect(errors[1]?.retryAfterSeconds).toBe(30);
    expect(await counts(metrics.artifactReads)).toEqual({ 'result=integrity': 1 });
    expect(await counts(metrics.negativeCacheHits)).toEqual({ '': 19 });
    expect(marked).toEqual(['corrupt corrupt']);

    vi.setSystemTime(Date.now() + 30_001);
    await failureOf(cache.acquire(corrupt));
    expect(await counts(metrics.artifactReads)).toEqual({ 'result=integrity': 2 });
  });

  it('remembers refused and unloadable bytes the same way (422 and 503)', async () => {
    start({});
    const hostile = await stored('hostile', 't', KiB);
    const garbage = await stored('garbage', 't', KiB);
    cache.refusals.set('hostile', 'sandbox');
    cache.refusals.set('garbage', 'unloadable');
    for (let i = 0; i < 5; i++) {
      expect(await failureOf(cache.acquire(hostile))).toMatchObject({
        code: 'INVALID_MODEL',
        message: `version 1 cannot be served: initializer 'W' stores its data outside the model`,
      });
      expect(await failureOf(cache.acquire(garbage))).toMatchObject({
        code: 'UNAVAILABLE',
        message: 'model version could not be loaded',
      });
    }
    expect(cache.log).toEqual(['open hostile', 'open garbage']);
    expect(marked).toEqual(['failed hostile']);
    expect(await counts(metrics.negativeCacheHits)).toEqual({ '': 8 });
  });

  it('remembers a storage outage only for MODEL_LOAD_TRANSIENT_FAILURE_CACHE_MS', async () => {
    let down = true;
    const flaky: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      getBuffer: async (key: string) => {
        if (down) throw new Error('connect ECONNREFUSED');
        return store.getBuffer(key);
      },
    });
    start({ MODEL_LOAD_TRANSIENT_FAILURE_CACHE_MS: 1000 }, flaky);
    vi.useFakeTimers({ toFake: ['Date'] });
    const version = await stored('outage', 't', KiB);
    for (let i = 0; i < 3; i++) {
      expect(await failureOf(cache.acquire(version))).toMatchObject({
        code: 'UNAVAILABLE',
        message: 'model version is temporarily unavailable',
      });
    }
    expect(await counts(metrics.artifactReads)).toEqual({ 'result=unavailable': 1 });
    expect(marked).toEqual([]); // says nothing about the bytes
    down = false;
    vi.setSystemTime(Date.now() + 1001);
    await touch(version);
    expect(await counts(metrics.artifactReads)).toEqual({
      'result=unavailable': 1,
      'result=ok': 1,
    });
  });
});
