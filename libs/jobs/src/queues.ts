// The contract between the gateway (producer) and the trainer (consumer). Payloads carry ids,
// never blobs or secrets: the trainer reads what it needs from Postgres and object storage.

export const TRAINING_QUEUE = 'training';

export const TrainingJobName = {
  /** Round trip through the queue; proves a trainer is consuming. */
  Health: 'health',
  /** Train the model described by a training_jobs row (see the training issue). */
  Train: 'train',
} as const;
export type TrainingJobName = (typeof TrainingJobName)[keyof typeof TrainingJobName];

export interface HealthJobData {
  requestedAt: string;
  requestId?: string;
}
export interface HealthJobResult {
  trainerId: string;
  receivedAt: string;
  backend: string;
}

export interface TrainJobData {
  trainingJobId: string;
  tenantId: string;
  requestId?: string;
}

export interface TrainingJobPayloads {
  [TrainingJobName.Health]: HealthJobData;
  [TrainingJobName.Train]: TrainJobData;
}

/** Defaults for every job on the training queue: bounded retention, retries with backoff. */
export const TRAINING_JOB_DEFAULTS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

// The contract between the trainer (producer) and the inference workers (consumers): a worker
// measures how fast versions run as it serves them (its model cache, model threads and session
// options), for the report of an optimised version. Ids only, as above.

export const BENCHMARK_QUEUE = 'model-benchmarks';

export const BenchmarkJobName = {
  /** Median run time of versions at given batch sizes, on an inference worker. */
  Latency: 'latency',
} as const;
export type BenchmarkJobName = (typeof BenchmarkJobName)[keyof typeof BenchmarkJobName];

/** The most a latency job may ask for: it runs beside tenants' requests on a serving worker. */
export const LATENCY_JOB_LIMITS = { versions: 4, batches: 4, maxBatch: 256, runs: 100 } as const;

export interface LatencyJobData {
  tenantId: string;
  /** ready versions of that tenant, measured one after another */
  versionIds: string[];
  /** rows per run; a batch over 1 is skipped for a version whose dim 0 is fixed */
  batches: number[];
  /** timed runs per version and batch (after `warmUpRuns`); the median is reported */
  runs: number;
  warmUpRuns: number;
}

export interface LatencyMeasurement {
  versionId: string;
  batch: number;
  /** median wall time of one run as the worker's event loop sees it (thread hand-off included) */
  medianMs: number;
  runs: number;
}

export interface LatencyJobResult {
  workerId: string;
  backend: string;
  measurements: LatencyMeasurement[];
}

/** What makes a latency job out of bounds (LATENCY_JOB_LIMITS), or undefined. */
export function latencyJobProblem(data: LatencyJobData): string | undefined {
  const { versions, batches, maxBatch, runs } = LATENCY_JOB_LIMITS;
  const whole = (value: unknown, low: number, high: number) =>
    Number.isInteger(value) && (value as number) >= low && (value as number) <= high;
  if (typeof data.tenantId !== 'string') return 'no tenant';
  if (!Array.isArray(data.versionIds) || !whole(data.versionIds.length, 1, versions)) {
    return `1 to ${versions} versions`;
  }
  if (!Array.isArray(data.batches) || !whole(data.batches.length, 1, batches)) {
    return `1 to ${batches} batch sizes`;
  }
  if (!data.batches.every((batch) => whole(batch, 1, maxBatch))) return `batches 1 to ${maxBatch}`;
  if (!whole(data.runs, 1, runs) || !whole(data.warmUpRuns, 0, runs)) return `runs 1 to ${runs}`;
  return undefined;
}
