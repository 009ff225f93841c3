import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DomainError, type Logger } from '@maas/app-runtime';
import type { ResolvedVersion } from '@maas/model-registry';
import { testRedisUrl } from '@maas/testing';
import {
  type LinkRequestMeta,
  publishHeartbeat,
  type WorkerInfo,
  workerKeys,
} from '@maas/worker-link';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { InferenceExchange } from './inference-exchange.js';
import { InferenceForwarder, WorkerLostError } from './inference-forwarder.service.js';
import { type InferenceWorkerClient, WorkerUnreachableError } from './inference-worker.client.js';
import { ReplicaWarmer } from './replica-warmer.js';
import type { VersionQuarantine } from './version-quarantine.service.js';
import { WorkerDirectory, type WorkerTarget } from './worker-directory.service.js';
import type { LinkResponse, WorkerLinkClient } from './worker-link.client.js';
import type { InFlightVersion } from './worker-loss.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

const ok = (text: string): LinkResponse => ({
  meta: { status: 200, contentType: 'application/json', rows: 1 },
  body: Buffer.from(text),
});

/** An exchange carrying `body`, recording what the forwarder answers. */
function exchange(body: Buffer) {
  const answer = { status: 0, body: undefined as Buffer | Readable | undefined };
  const fake = {
    id: 'req-1',
    headers: { 'content-length': String(body.length), 'content-type': 'application/json' },
    request: Readable.from([body]),
    status(code: number) {
      answer.status = code;
      return fake;
    },
    header: () => fake,
    send(sent: Buffer | Readable) {
      answer.body = sent;
    },
  };
  return { exchange: fake as unknown as InferenceExchange, answer };
}

const resolvedVersion = (versionId: string, model = 'm'): ResolvedVersion =>
  ({
    model: { name: model },
    version: { id: versionId, number: 1, servingConfig: null },
  }) as unknown as ResolvedVersion;

type Behaviour = (address: string, version?: InFlightVersion) => Promise<LinkResponse>;

/** Stands in for the worker links (and HTTP): each address answers as `behaviour` says. */
function fakeTransports(behaviour: Behaviour) {
  const calls: string[] = [];
  const loads: [string, LinkRequestMeta][] = [];
  /** Link addresses running a request of a version that never answered there. */
  const untried = new Set<string>();
  const link = {
    untriedInFlight: (address: string) => untried.has(address),
    ranSomewhere: () => false,
    noteRan: () => undefined,
    load: async (address: string, meta: LinkRequestMeta): Promise<LinkResponse> => {
      loads.push([address, meta]);
      return { meta: { status: 204, contentType: 'application/json' }, body: Buffer.alloc(0) };
    },
    request: (
      address: string,
      _call: string,
      _meta: LinkRequestMeta,
      _body: Buffer,
      version?: InFlightVersion,
    ) => {
      calls.push(address);
      return behaviour(address, version);
    },
    onLost: () => undefined,
  } as unknown as WorkerLinkClient;
  const http = {
    forward: async (request: { origin: string; path: string; headers: Record<string, string> }) => {
      if (request.path.endsWith('/load')) {
        loads.push([
          `${request.origin}${request.path}`,
          {
            tenant: request.headers['x-maas-tenant-id']!,
            model: 'over-http',
            version: 1,
            requestId: request.headers['x-request-id']!,
          },
        ]);
        return { statusCode: 204, headers: {}, body: { text: async () => '' } };
      }
      calls.push(request.origin);
      const answer = await behaviour(request.origin);
      return {
        statusCode: answer.meta.status,
        headers: { 'content-type': 'application/json', 'content-length': '2' },
        body: { arrayBuffer: async () => answer.body },
      };
    },
  } as unknown as InferenceWorkerClient;
  return { link, http, calls, loads, untried };
}

/** A directory with fixed candidates that records what the forwarder tells it. */
function fakeDirectory(targets: WorkerTarget[]) {
  const unreachable: string[] = [];
  const timeouts: [string, string][] = [];
  const directory = {
    route: () => ({ targets, warming: [] }),
    markUnreachable: (url: string) => unreachable.push(url),
    noteTimeout: (url: string, tenant: string) => {
      timeouts.push([url, tenant]);
      return false;
    },
  } as unknown as WorkerDirectory;
  return { directory, unreachable, timeouts };
}

function fakeQuarantine() {
  const losses: { worker: string; suspects: readonly InFlightVersion[] }[] = [];
  const quarantine = {
    recordLoss: async (worker: string, suspects: readonly InFlightVersion[]) => {
      losses.push({ worker, suspects });
    },
  } as unknown as VersionQuarantine;
  return { quarantine, losses };
}

const TWO = [
  { url: 'http://w1', link: 'w1:1', id: 'w1-id' },
  { url: 'http://w2', link: 'w2:1', id: 'w2-id' },
];

function forwarder(
  transports: ReturnType<typeof fakeTransports>,
  directory: WorkerDirectory,
  quarantine = fakeQuarantine().quarantine,
  transport: 'link' | 'http' = 'link',
) {
  return new InferenceForwarder(
    transports.http,
    transports.link,
    directory,
    quarantine,
    new ReplicaWarmer(
      transports.link,
      transports.http,
      { INFERENCE_TRANSPORT: transport },
      silent as unknown as Logger,
    ),
    { INFERENCE_TRANSPORT: transport } as GatewayConfig,
    silent as unknown as Logger,
    new Registry(),
  );
}

const usage = () => ({ modelName: '', modelVersion: 0, rows: 0 });

describe('InferenceForwarder: when a request may go to another worker', () => {
  it('replays on the next worker a request that was never sent (connection refused)', async () => {
    const transports = fakeTransports(async (address) => {
      if (address === 'w1:1') throw new WorkerUnreachableError('w1:1', true);
      return ok('{"from":"w2"}');
    });
    const { directory, unreachable } = fakeDirectory(TWO);
    const { exchange: ex, answer } = exchange(Buffer.from('{}'));
    await forwarder(transports, directory).forward(
      't1',
      resolvedVersion('v1'),
      'infer',
      ex,
      usage(),
    );
    expect(transports.calls).toEqual(['w1:1', 'w2:1']);
    expect(answer.status).toBe(200);
    expect(String(answer.body)).toBe('{"from":"w2"}');
    expect(unreachable).toEqual(['http://w1']);
  });

  it('answers 502 and never replays a request whose worker was lost after it was sent', async () => {
    const transports = fakeTransports(async (address) => {
      if (address === 'w1:1') throw new WorkerUnreachableError('w1:1', false);
      return ok('{}');
    });
    const { directory } = fakeDirectory(TWO);
    const { exchange: ex, answer } = exchange(Buffer.from('{}'));
    const error = await forwarder(transports, directory)
      .forward('t1', resolvedVersion('v1'), 'infer', ex, usage())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerLostError);
    expect((error as WorkerLostError).statusCode).toBe(502);
    expect((error as Error).message).toMatch(/not retried on another worker/);
    expect(transports.calls).toEqual(['w1:1']);
    expect(answer.status).toBe(0);
  });

  it('replays a bystander of a worker loss once on the next worker; a second loss answers 502', async () => {
    let lose = 1;
    const transports = fakeTransports(async (address) => {
      if (address === 'w1:1' || lose > 1) throw new WorkerUnreachableError(address, false, true);
      return ok('{"from":"w2"}');
    });
    const { directory } = fakeDirectory([...TWO, { url: 'http://w3', link: 'w3:1', id: 'w3' }]);
    const first = exchange(Buffer.from('{}'));
    await forwarder(transports, directory).forward(
      't1',
      resolvedVersion('v1'),
      'infer',
      first.exchange,
      usage(),
    );
    expect(transports.calls).toEqual(['w1:1', 'w2:1']);
    expect(first.answer.status).toBe(200);
    expect(String(first.answer.body)).toBe('{"from":"w2"}');

    // Lost again where it was replayed: never a third worker.
    lose = 2;
    transports.calls.length = 0;
    const second = exchange(Buffer.from('{}'));
    const error = await forwarder(transports, directory)
      .forward('t1', resolvedVersion('v1'), 'infer', second.exchange, usage())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerLostError);
    expect(transports.calls).toEqual(['w1:1', 'w2:1']);
    expect(second.answer.status).toBe(0);
  });

  it('does not replay a request that timed out, and counts the timeout against its worker', async () => {
    const transports = fakeTransports(async () => {
      throw new DomainError('DEADLINE_EXCEEDED', 'inference worker did not answer in time');
    });
    const { directory, timeouts } = fakeDirectory(TWO);
    const { exchange: ex } = exchange(Buffer.from('{}'));
    await expect(
      forwarder(transports, directory).forward('t1', resolvedVersion('v1'), 'infer', ex, usage()),
    ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(transports.calls).toEqual(['w1:1']);
    expect(timeouts).toEqual([['http://w1', 't1']]);
  });

  it('sends a streamed body once: a refused stream is not replayed (it cannot be sent twice)', async () => {
    const transports = fakeTransports(async (address) => {
      throw new WorkerUnreachableError(address, true);
    });
    const { directory } = fakeDirectory(TWO);
    // Past what is held in memory for a replay: it streams over HTTP.
    const { exchange: ex } = exchange(Buffer.alloc(5 * 1024 * 1024, 32));
    await expect(
      forwarder(transports, directory).forward('t1', resolvedVersion('v1'), 'infer', ex, usage()),
    ).rejects.toBeInstanceOf(WorkerUnreachableError);
    expect(transports.calls).toEqual(['http://w1']);
  });

  it('blames an HTTP worker loss once, on the versions in flight that it never answered', async () => {
    const held: { address: string; reject: (error: unknown) => void }[] = [];
    let answerDirectly = true;
    const transports = fakeTransports((address) => {
      if (answerDirectly) return Promise.resolve(ok('{}'));
      return new Promise((_resolve, reject) => held.push({ address, reject }));
    });
    const { directory } = fakeDirectory(TWO.slice(0, 1));
    const { quarantine, losses } = fakeQuarantine();
    const forward = forwarder(transports, directory, quarantine, 'http');
    // Tenant B's version has answered on this worker; tenant A's crasher never has.
    await forward.forward(
      'tB',
      resolvedVersion('vB', 'b'),
      'infer',
      exchange(Buffer.from('{}')).exchange,
      usage(),
    );
    answerDirectly = false;
    const inFlight = [
      forward.forward(
        'tA',
        resolvedVersion('vA', 'a'),
        'infer',
        exchange(Buffer.from('{}')).exchange,
        usage(),
      ),
      forward.forward(
        'tB',
        resolvedVersion('vB', 'b'),
        'infer',
        exchange(Buffer.from('{}')).exchange,
        usage(),
      ),
    ].map((p) => p.catch((e: unknown) => e));
    await expect.poll(() => held.length).toBe(2);
    for (const { address, reject } of held) reject(new WorkerUnreachableError(address, false));
    // No other worker to take B's request, a bystander of the loss: both answer 502.
    const errors = await Promise.all(inFlight);
    expect(errors.every((e) => e instanceof WorkerLostError)).toBe(true);
    expect(losses).toEqual([
      {
        worker: 'w1-id',
        suspects: [{ tenantId: 'tA', versionId: 'vA', model: 'a', version: 1 }],
      },
    ]);
  });
});

describe('InferenceForwarder with WorkerDirectory: suspect workers', () => {
  let redis: Redis;
  const prefix = `test-forwarder-${randomUUID().slice(0, 8)}`;
  const config = {
    REDIS_PREFIX: prefix,
    INFERENCE_WORKER_URL: 'http://fallback',
    INFERENCE_TRANSPORT: 'link',
    WORKER_SUSPECT_TIMEOUTS: 3,
    WORKER_SUSPECT_WINDOW_MS: 60_000,
    WORKER_SUSPECT_COOLDOWN_MS: 300,
  } as GatewayConfig;

  const worker = (id: string): WorkerInfo => ({
    id,
    url: `http://${id}`,
    link: `${id}:1`,
    capacity: 1,
    inFlight: 0,
    loadedVersions: [],
    backends: ['onnxruntime'],
    startedAt: new Date().toISOString(),
    heartbeatAt: new Date().toISOString(),
  });

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    for (const id of ['wa', 'wb', 'wc']) {
      await publishHeartbeat(redis, prefix, worker(id), 60_000);
    }
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('routes around a worker that keeps timing out for several tenants, and back after the cool-down', async () => {
    const directory = new WorkerDirectory(redis, config);
    await directory.refresh();
    const home = directory.candidates('version-x')[0]!;
    const next = directory.candidates('version-x')[1]!;
    const transports = fakeTransports(async (address) => {
      if (address === home.link) {
        throw new DomainError('DEADLINE_EXCEEDED', 'inference worker did not answer in time');
      }
      return ok('{}');
    });
    const forward = forwarder(transports, directory);
    const send = (tenant: string) => {
      const { exchange: ex, answer } = exchange(Buffer.from('{}'));
      return forward.forward(tenant, resolvedVersion('version-x'), 'infer', ex, usage()).then(
        () => answer.status,
        (e: { code?: string }) => e.code,
      );
    };
    // One tenant's timeouts alone never move the version.
    for (let i = 0; i < 4; i++) expect(await send('slow-tenant')).toBe('DEADLINE_EXCEEDED');
    expect(directory.candidates('version-x')[0]).toEqual(home);
    expect(await send('other-tenant')).toBe('DEADLINE_EXCEEDED');
    // Suspect now: the version goes to the next worker in rendezvous order; its heartbeat is alive.
    const order = directory.candidates('version-x').map((t) => t.url);
    expect(order[0]).toBe(next.url);
    expect(order.at(-1)).toBe(home.url); // still there as the last resort
    transports.calls.length = 0;
    expect(await send('slow-tenant')).toBe(200);
    expect(transports.calls).toEqual([next.link]);
    await new Promise((resolve) => setTimeout(resolve, config.WORKER_SUSPECT_COOLDOWN_MS + 50));
    expect(directory.candidates('version-x')[0]).toEqual(home);
  });

  it("follows the live workers: a version's order is hashed once per worker list, never reused after it changes", async () => {
    const own = { ...config, REDIS_PREFIX: `${prefix}-changes` };
    const directory = new WorkerDirectory(redis, own);
    const orderOf = (version: string) => directory.candidates(version).map((t) => t.url);
    for (const id of ['w1', 'w2', 'w3'])
      await publishHeartbeat(redis, own.REDIS_PREFIX, worker(id), 60_000);
    await directory.refresh();
    const versions = Array.from({ length: 20 }, (_, i) => `version-${i}`);
    const before = new Map(versions.map((v) => [v, orderOf(v)]));
    // A caller's copy is its own: changing it changes no later answer.
    directory.candidates('version-0').reverse().push({ url: 'http://poisoned' });
    expect(orderOf('version-0')).toEqual(before.get('version-0'));
    // The home of some version leaves; another worker joins.
    const leaving = before.get('version-0')![0]!.replace('http://', '');
    await redis.del(workerKeys(own.REDIS_PREFIX).worker(leaving));
    await publishHeartbeat(redis, own.REDIS_PREFIX, worker('w4'), 60_000);
    await directory.refresh();
    for (const version of versions) {
      const order = orderOf(version);
      expect(order).not.toContain(`http://${leaving}`);
      expect(order.filter((url) => url !== 'http://fallback').sort()).toEqual(
        ['http://w1', 'http://w2', 'http://w3', 'http://w4'].filter(
          (u) => u !== `http://${leaving}`,
        ),
      );
      // Rendezvous order: a version whose home stayed keeps it.
      const home = before.get(version)![0]!;
      if (home !== `http://${leaving}` && order[0] !== 'http://w4') expect(order[0]).toBe(home);
    }
    expect(orderOf('version-0')[0]).not.toBe(`http://${leaving}`);
  });
  it('routes a version to a worker that has it loaded, and warms its cold replicas once per retry interval', async () => {
    const own = { ...config, REDIS_PREFIX: `${prefix}-warm` };
    const publish = (id: string, loaded: string[] = []) =>
      publishHeartbeat(redis, own.REDIS_PREFIX, { ...worker(id), loadedVersions: loaded }, 60_000);
    for (const id of ['w1', 'w2', 'w3']) await publish(id);
    const directory = new WorkerDirectory(redis, own);
    await directory.refresh();
    const urls = (targets: WorkerTarget[]) => targets.map((t) => t.url);
    // Nothing loaded anywhere: rendezvous order, owners taking turns, nothing to warm.
    const [o1, o2, o3] = urls(directory.route('v', 1).targets);
    const idOf = (url: string | undefined) => url!.replace('http://', '');
    expect(directory.route('v', 2).warming).toEqual([]);
    expect(urls(directory.route('v', 2).targets).slice(0, 2).sort()).toEqual([o1, o2].sort());

    // Two replicas, one of them warm: every request goes to it, the other is to be warmed.
    await publish(idOf(o1), ['v']);
    await directory.refresh();
    for (let i = 0; i < 3; i++) {
      const route = directory.route('v', 2);
      expect(urls(route.targets)).toEqual([o1, o2, o3, 'http://fallback']);
      expect(urls(route.warming)).toEqual([o2]);
    }
    // Both warm: they take turns again.
    await publish(idOf(o2), ['v']);
    await directory.refresh();
    const fronts = [0, 1, 2, 3].map(() => directory.route('v', 2));
    expect(fronts.map((r) => r.targets[0]!.url).sort()).toEqual([o1, o1, o2, o2].sort());
    expect(fronts.every((r) => r.warming.length === 0)).toBe(true);

    // One replica whose owner is cold (it just joined or restarted) while another worker has
    // the version: served there, the owner warmed. A version loaded nowhere is unaffected.
    await publish(idOf(o1));
    await publish(idOf(o2));
    await publish(idOf(o3), ['v']);
    await directory.refresh();
    expect(urls(directory.route('v', 1).targets)).toEqual([o3, o1, o2, 'http://fallback']);
    expect(urls(directory.route('v', 1).warming)).toEqual([o1]);
    expect(directory.route('other-version', 1).warming).toEqual([]);
    // The same over HTTP (warmed with a signed POST .../load instead of a link frame).
    const overHttp = new WorkerDirectory(redis, { ...own, INFERENCE_TRANSPORT: 'http' });
    await overHttp.refresh();
    expect(urls(overHttp.route('v', 1).targets)[0]).toBe(o3);
    expect(urls(overHttp.route('v', 1).warming)).toEqual([o1]);

    // Through the forwarder: every request answered by the warm worker; the owner asked to load
    // the version once (not per request), with the version the request resolved.
    const transports = fakeTransports(async (address) => ok(`{"from":"${address}"}`));
    const forward = forwarder(transports, directory);
    for (let i = 0; i < 3; i++) {
      const { exchange: ex, answer } = exchange(Buffer.from('{}'));
      await forward.forward('tenant-1', resolvedVersion('v', 'model-v'), 'infer', ex, usage());
      expect(answer.status).toBe(200);
    }
    expect(transports.calls).toEqual([`${idOf(o3)}:1`, `${idOf(o3)}:1`, `${idOf(o3)}:1`]);
    expect(transports.loads).toEqual([
      [`${idOf(o1)}:1`, { tenant: 'tenant-1', model: 'model-v', version: 1, requestId: 'req-1' }],
    ]);
    // Over HTTP: the requests to the warm worker's URL, the owner sent a signed POST .../load.
    const overHttpTransports = fakeTransports(async (address) => ok(`{"from":"${address}"}`));
    const forwardOverHttp = forwarder(overHttpTransports, overHttp, undefined, 'http');
    for (let i = 0; i < 2; i++) {
      const { exchange: ex, answer } = exchange(Buffer.from('{}'));
      await forwardOverHttp.forward(
        'tenant-1',
        resolvedVersion('v', 'model-v'),
        'infer',
        ex,
        usage(),
      );
      expect(answer.status).toBe(200);
    }
    expect(overHttpTransports.calls).toEqual([o3, o3]);
    expect(overHttpTransports.loads.map(([to]) => to)).toEqual([
      `${o1}/v2/models/model-v/versions/1/load`,
    ]);
  });
  it("sends a replicated version's requests past a replica running a version that never ran anywhere", async () => {
    const own = { ...config, REDIS_PREFIX: `${prefix}-risk` };
    for (const id of ['r1', 'r2', 'r3']) {
      await publishHeartbeat(
        redis,
        own.REDIS_PREFIX,
        { ...worker(id), loadedVersions: ['shared', 'single'] },
        60_000,
      );
    }
    const directory = new WorkerDirectory(redis, own);
    await directory.refresh();
    const transports = fakeTransports(async () => ok('{}'));
    const forward = forwarder(transports, directory);
    const send = async (versionId: string, replicas: number) => {
      const version = resolvedVersion(versionId);
      (version.version as { servingConfig: unknown }).servingConfig = { replicas };
      const { exchange: ex, answer } = exchange(Buffer.from('{}'));
      await forward.forward('tenant-b', version, 'infer', ex, usage());
      expect(answer.status).toBe(200);
    };
    const [first, second] = directory.route('shared', 2).targets;
    // The two replicas take turns...
    for (let i = 0; i < 4; i++) await send('shared', 2);
    expect([...transports.calls].sort()).toEqual(
      [first!.link, first!.link, second!.link, second!.link].sort(),
    );
    // ...until one runs a request of a version that never ran anywhere: the other takes
    // every turn, and the third worker (not a replica) none.
    transports.untried.add(first!.link!);
    transports.calls.length = 0;
    for (let i = 0; i < 4; i++) await send('shared', 2);
    expect(transports.calls).toEqual([second!.link, second!.link, second!.link, second!.link]);
    // With both at risk, they take turns again; a version with one replica stays at home.
    transports.untried.add(second!.link!);
    transports.calls.length = 0;
    for (let i = 0; i < 4; i++) await send('shared', 2);
    expect(new Set(transports.calls)).toEqual(new Set([first!.link, second!.link]));
    const home = directory.route('single', 1).targets[0]!;
    transports.untried.add(home.link!);
    transports.calls.length = 0;
    await send('single', 1);
    expect(transports.calls).toEqual([home.link]);
  });
  it('stops routing around a worker once a new process registers at its URL', async () => {
    const own = { ...config, REDIS_PREFIX: `${prefix}-reborn` };
    for (const id of ['p1', 'p2'])
      await publishHeartbeat(redis, own.REDIS_PREFIX, worker(id), 60_000);
    const directory = new WorkerDirectory(redis, own);
    await directory.refresh();
    const [home] = directory.candidates('version-r');
    // Its connection failed (it was stopped): tried last...
    directory.markUnreachable(home!.url);
    expect(directory.candidates('version-r')[0]!.url).not.toBe(home!.url);
    // ...and a refresh that finds the same process changes nothing...
    await directory.refresh();
    expect(directory.candidates('version-r')[0]!.url).not.toBe(home!.url);
    // ...until a new process (a new worker id) registers at that URL: it is home again.
    const before = home!.id!;
    await redis.del(workerKeys(own.REDIS_PREFIX).worker(before));
    await publishHeartbeat(
      redis,
      own.REDIS_PREFIX,
      { ...worker(before), id: `${before}-restarted` },
      60_000,
    );
    await directory.refresh();
    expect(directory.candidates('version-r').map((t) => t.url)).toContain(home!.url);
    expect(directory.suspicion.isSuspect(home!.url)).toBe(false);
  });
});
