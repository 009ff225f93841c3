import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { REDIS, RedisScript } from '@maas/app-runtime';
import { rendezvousOrder, type WorkerInfo, workerKeys } from '@maas/worker-link';
import type { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { WorkerSuspicion } from './worker-suspicion.js';

const REFRESH_MS = 1000;
/** Index entries older than this are pruned; liveness itself is the record's Redis TTL. */
const INDEX_MAX_AGE_MS = 60_000;
/** A worker that refused a connection is tried last for this long. */
const UNREACHABLE_MS = 5000;

/**
 * The live workers' records in one call (every second on every gateway): prunes index entries
 * older than ARGV[1] (ms), and returns the records of the rest (ARGV[2] + id; nil once a
 * record's TTL ran out). KEYS: the index (workerKeys).
 */
const LIVE_WORKERS_SCRIPT = new RedisScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
if #ids == 0 then return {} end
local records = {}
for i, id in ipairs(ids) do records[i] = ARGV[2] .. id end
return redis.call('MGET', unpack(records))
`);

/**
 * A worker to send a request to: its HTTP base URL, its link address when it has one, and its
 * id (one per worker process) when it registered.
 */
export interface WorkerTarget {
  url: string;
  link?: string;
  id?: string;
}

/** Where to send a request for a version, and the replicas to warm meanwhile. */
export interface Route {
  /** Workers to try, best first. */
  targets: WorkerTarget[];
  /**
   * The version's own workers (its first `replicas` in rendezvous order) that have not loaded
   * it while another worker has: requests go to the warm ones, and these are sent a `load`
   * (ReplicaWarmer) so that no request waits for their load. Empty when nothing is warm
   * anywhere: the first request loads it, as it must.
   */
  warming: WorkerTarget[];
}

/**
 * The live inference workers (from their Redis heartbeats, refreshed every second) and the order
 * to try them in for a version: rendezvous hashing, so a version stays hot on one worker and
 * moves only when that worker goes. With none registered, INFERENCE_WORKER_URL is the worker.
 */
@Injectable()
export class WorkerDirectory implements OnApplicationBootstrap, OnModuleDestroy {
  private workers: WorkerInfo[] = [];
  /** The versions each worker had loaded at its last heartbeat, by worker id. */
  private loaded = new Map<string, Set<string>>();
  /** The id of the worker last seen at each URL: a new one there is a new process. */
  private readonly idAt = new Map<string, string>();
  /** Workers routed around for now: unreachable, or timing out (WorkerSuspicion). */
  readonly suspicion: WorkerSuspicion;
  /** Requests routed per version with replicas > 1 (whose turn is next). */
  private readonly turns = new Map<string, number>();
  /** Each version's rendezvous order over `routedOver` (recomputed when the workers change). */
  private readonly routes = new Map<string, WorkerTarget[]>();
  private routedOver?: WorkerInfo[];
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.suspicion = new WorkerSuspicion({
      unreachableMs: UNREACHABLE_MS,
      timeouts: config.WORKER_SUSPECT_TIMEOUTS,
      windowMs: config.WORKER_SUSPECT_WINDOW_MS,
      cooldownMs: config.WORKER_SUSPECT_COOLDOWN_MS,
    });
  }

  onApplicationBootstrap(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.liveWorkers()
      .then(
        (workers) => {
          this.workers = workers;
          this.loaded = new Map(workers.map((w) => [w.id, new Set(w.loadedVersions)]));
          this.noteProcesses(workers);
        },
        () => undefined, // Redis down: keep routing to the last known workers
      )
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async liveWorkers(): Promise<WorkerInfo[]> {
    const keys = workerKeys(this.config.REDIS_PREFIX);
    const records = (await LIVE_WORKERS_SCRIPT.run(
      this.redis,
      [keys.index],
      [Date.now() - INDEX_MAX_AGE_MS, keys.worker('')],
    )) as (string | null)[];
    return records.flatMap((record) => {
      if (record === null) return [];
      try {
        return [JSON.parse(record) as WorkerInfo];
      } catch {
        return [];
      }
    });
  }

  /**
   * A worker registered at a URL under a new id is a new process (restarted, or a new pod on
   * the address): it is no longer routed around for what the one before it did (refused
   * connections when it was stopped, timeouts).
   */
  private noteProcesses(workers: readonly WorkerInfo[]): void {
    for (const { url, id } of workers) {
      const before = this.idAt.get(url);
      if (before === id) continue;
      if (before !== undefined) this.suspicion.forget(url);
      if (this.idAt.size >= 1000) this.idAt.clear(); // workers come and go
      this.idAt.set(url, id);
    }
  }

  /** Live workers as last read from Redis. */
  list(): WorkerInfo[] {
    return this.workers;
  }

  /** Workers to try for a version, best first (route's targets). */
  candidates(versionId: string, replicas = 1): WorkerTarget[] {
    return this.route(versionId, replicas).targets;
  }

  /**
   * Workers to try for a version, best first: its first `replicas` workers in rendezvous order
   * (its own; taking turns at the front when more than one), then the rest for failover. A
   * worker's last heartbeat says which versions it has loaded: while some of its own have not
   * and another worker has, the warm ones take its requests (its own first, else whichever
   * worker has it, in rendezvous order) and the cold ones are listed to be warmed. So a worker
   * that just started, restarted or joined serves a version only once it has loaded it, and a
   * version moving to a new worker keeps being served where it is loaded until then. A
   * heartbeat is at most WORKER_HEARTBEAT_MS old when read (plus this directory's 1 s
   * refresh): a version evicted since is loaded again by the request that finds it gone.
   * `avoid`: workers to put last among those taking turns, while another can take the turn
   * (the forwarder's: workers running a version's first request there, which may stop them).
   */
  route(versionId: string, replicas = 1, avoid?: (target: WorkerTarget) => boolean): Route {
    const fallback = { url: this.config.INFERENCE_WORKER_URL };
    if (this.workers.length === 0) return { targets: [fallback], warming: [] };
    // A copy: rotated and extended below.
    let ordered = [...this.rendezvousTargets(versionId)];
    const owners = Math.max(1, Math.min(replicas, ordered.length));
    let warming: WorkerTarget[] = [];
    let front = ordered.slice(0, owners);
    const isWarm = (target: WorkerTarget) => this.loaded.get(target.id!)?.has(versionId) === true;
    const warmOwners = front.filter(isWarm);
    if (warmOwners.length < owners) {
      const warm = warmOwners.length > 0 ? warmOwners : ordered.slice(owners).filter(isWarm);
      if (warm.length > 0) {
        warming = front.filter((target) => !isWarm(target));
        front = warm;
        ordered = [...warm, ...ordered.filter((target) => !warm.includes(target))];
      }
    }
    if (front.length > 1) {
      const turn = this.turns.get(versionId) ?? 0;
      if (this.turns.size >= 10_000) this.turns.clear();
      this.turns.set(versionId, turn + 1);
      const first = turn % front.length;
      ordered.unshift(...ordered.splice(first, front.length - first));
      // Of workers taking turns, those `avoid` names go last (their turn passes to the next).
      if (avoid) {
        const group = ordered.slice(0, front.length);
        const safe = group.filter((target) => !avoid(target));
        if (safe.length > 0 && safe.length < group.length) {
          ordered.splice(0, group.length, ...safe, ...group.filter(avoid));
        }
      }
    }
    // The static URL (e.g. a Kubernetes Service) is the last resort when no registered one answers.
    if (!ordered.some((target) => target.url === fallback.url)) ordered.push(fallback);
    if (this.suspicion.size === 0) return { targets: ordered, warming };
    const now = Date.now();
    const healthy: WorkerTarget[] = [];
    const suspect: WorkerTarget[] = [];
    for (const target of ordered) {
      (this.suspicion.isSuspect(target.url, now) ? suspect : healthy).push(target);
    }
    return { targets: [...healthy, ...suspect], warming };
  }

  /** The workers in `versionId`'s rendezvous order: hashed once per version per worker list. */
  private rendezvousTargets(versionId: string): readonly WorkerTarget[] {
    if (this.routedOver !== this.workers) {
      this.routes.clear();
      this.routedOver = this.workers;
    }
    let targets = this.routes.get(versionId);
    if (targets === undefined) {
      targets = rendezvousOrder(versionId, this.workers, (w) => w.id).map(({ url, link, id }) => ({
        url,
        link,
        id,
      }));
      if (this.routes.size >= 10_000) this.routes.clear();
      this.routes.set(versionId, targets);
    }
    return targets;
  }

  /** The runtime backend the worker owning a version runs it on (for metadata). */
  backendFor(versionId: string, format: string): string {
    const owner = this.workers.length
      ? rendezvousOrder(versionId, this.workers, (w) => w.id)[0]
      : undefined;
    const prefix = format === 'tfjs' ? 'tfjs-' : 'onnxruntime';
    return (
      owner?.backends?.find((b) => b.startsWith(prefix)) ??
      (format === 'tfjs' ? 'tfjs' : 'onnxruntime')
    );
  }

  /** A connection to this worker failed: try it last for a while, and re-read the registry. */
  markUnreachable(url: string): void {
    this.suspicion.markUnreachable(url);
    void this.refresh();
  }

  /** A request to this worker ran past the deadline; true when that made it suspect. */
  noteTimeout(url: string, tenantId: string): boolean {
    return this.suspicion.noteTimeout(url, tenantId);
  }

  /** The id of the worker whose link listens at `address`, if it registered. */
  idOfLink(address: string): string | undefined {
    return this.workers.find((w) => w.link === address)?.id;
  }
}
