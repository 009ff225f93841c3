export {
  BENCHMARK_QUEUE,
  BenchmarkJobName,
  LATENCY_JOB_LIMITS,
  TRAINING_JOB_DEFAULTS,
  TRAINING_QUEUE,
  TrainingJobName,
  latencyJobProblem,
} from './queues.js';
export type {
  HealthJobData,
  HealthJobResult,
  LatencyJobData,
  LatencyJobResult,
  LatencyMeasurement,
  TrainJobData,
  TrainingJobPayloads,
} from './queues.js';
export { roundTrip, type RoundTrip } from './job-round-trip.js';
