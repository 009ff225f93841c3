import { Global, Module, type DynamicModule } from '@nestjs/common';
import { env, requireProductionSecrets, sharedConfigShape } from '@maas/config';
import { z } from 'zod';

export const trainerConfigSchema = z
  .object({
    ...sharedConfigShape,
    /** Health and metrics only; the trainer takes its work from the queue. */
    PORT: env.port(3002),
    TRAINER_CONCURRENCY: env.positiveInt(1),
    /** Which TensorFlow.js backend to train on; auto picks the best one installed. */
    TFJS_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /**
     * What runs an MLP's training steps: `auto` = TF.js on tfjs-node(-gpu), ONNX Runtime's CPU
     * kernels where TF.js would be on wasm/cpu (same math, several times faster); `tfjs` forces
     * TF.js on its backend. The layers model and its TF.js artifact are the same either way.
     */
    TRAINER_MLP_ENGINE: z.enum(['auto', 'tfjs', 'onnxruntime']).default('auto'),
    /** How long a job's lock lasts without renewal: a killed trainer's job is free after this. */
    TRAINER_LOCK_DURATION_MS: env.positiveInt(30_000),
    /** How often stalled jobs (lock lost) are looked for and put back in the queue. */
    TRAINER_STALLED_INTERVAL_MS: env.positiveInt(30_000),
    /**
     * Wall-clock seconds one job may train, all attempts together (a tenant's remaining monthly
     * training minutes may stop it sooner); past it the job fails.
     */
    TRAINER_MAX_JOB_SECONDS: env.positiveInt(6 * 3600),
    /** On SIGTERM, how long running jobs may take to finish before they are left to recovery. */
    TRAINER_DRAIN_TIMEOUT_MS: env.nonNegativeInt(20_000),
    /**
     * How often queued and running jobs that have no BullMQ job (Redis lost its data) are queued
     * again, and how old a job must be for that; 0 turns it off.
     */
    TRAINER_RECONCILE_MS: env.nonNegativeInt(30_000),
    /**
     * How long an optimisation job waits for an inference worker to measure the source and the
     * optimised version (the report's latency); past it the trainer measures them itself and
     * the report says so.
     */
    TRAINER_WORKER_BENCHMARK_TIMEOUT_MS: env.positiveInt(30_000),
    /** How often the model registry's sweep runs (stuck uploads, leftover bytes); 0 = never. */
    REGISTRY_SWEEP_INTERVAL_MS: env.nonNegativeInt(600_000),
    /**
     * How long the ids of applied usage batches (usage_flushes) are kept, pruned by the same
     * sweep. Far longer than a batch can wait in Redis or in a gateway's memory (seconds to an
     * outage's length): only a batch older than this could be counted twice.
     */
    USAGE_FLUSH_RETENTION_DAYS: env.positiveInt(7),
  })
  .superRefine(requireProductionSecrets('MASTER_KEY'));

export type TrainerConfig = z.infer<typeof trainerConfigSchema>;
export const TRAINER_CONFIG = Symbol('TRAINER_CONFIG');

@Global()
@Module({})
export class TrainerConfigModule {
  static forRoot(config: TrainerConfig): DynamicModule {
    return {
      module: TrainerConfigModule,
      providers: [{ provide: TRAINER_CONFIG, useValue: config }],
      exports: [TRAINER_CONFIG],
    };
  }
}
