import type { Redis } from 'ioredis';

/** What a worker publishes about itself on every heartbeat. */
export interface WorkerInfo {
  id: string;
  /** Base URL the gateway reaches it at. */
  url: string;
  /** host:port of its worker link (framed TCP transport for inference requests), if it has one. */
  link?: string;
  /** Requests it runs at once per version, and how many it holds now. */
  capacity: number;
  inFlight: number;
  /** Ids of the model versions it has loaded. */
  loadedVersions: string[];
  /** Runtime backends available (`onnxruntime`, `tfjs-…`). */
  backends: string[];
  startedAt: string;
  heartbeatAt: string;
}

export interface WorkerKeys {
  /** Sorted set: worker id → last heartbeat (ms). */
  index: string;
  /** String per worker: its WorkerInfo as JSON, expiring after the TTL. */
  worker(id: string): string;
}

export function workerKeys(prefix: string): WorkerKeys {
  return {
    index: `${prefix}:inference:workers`,
    worker: (id) => `${prefix}:inference:worker:${id}`,
  };
}

/** Writes one heartbeat: the worker's record (expiring after ttlMs) and its index entry. */
export async function publishHeartbeat(
  redis: Redis,
  prefix: string,
  info: WorkerInfo,
  ttlMs: number,
): Promise<void> {
  const keys = workerKeys(prefix);
  await redis
    .multi()
    .set(keys.worker(info.id), JSON.stringify(info), 'PX', ttlMs)
    .zadd(keys.index, Date.now(), info.id)
    .exec();
}

/** Removes a worker at shutdown so the gateway stops routing to it at once. */
export async function withdrawWorker(redis: Redis, prefix: string, id: string): Promise<void> {
  const keys = workerKeys(prefix);
  await redis.multi().del(keys.worker(id)).zrem(keys.index, id).exec();
}
