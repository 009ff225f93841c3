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
