export { TRAINING_JOB_DEFAULTS, TRAINING_QUEUE, TrainingJobName } from './queues.js';
export type {
  HealthJobData,
  HealthJobResult,
  TrainJobData,
  TrainingJobPayloads,
} from './queues.js';
