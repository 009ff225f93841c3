import 'reflect-metadata';
import { bootstrapApp } from '@maas/app-runtime';
import { loadConfig } from '@maas/config';
import { TrainerModule } from './app.module.js';
import { trainerConfigSchema } from './config/trainer-config.js';
import { TrainingWorkerService } from './jobs/training-worker.service.js';

/**
 * The trainer consumes the training queue; its HTTP port serves only /healthz, /readyz and
 * /metrics. SIGTERM closes the BullMQ worker (the running job finishes or is retried).
 */
void bootstrapApp({
  name: 'trainer',
  loadConfig: (env) => loadConfig(trainerConfigSchema, env),
  module: (config, logger) => TrainerModule.forRoot(config, logger),
  http: () => ({ beforeClose: (app) => app.get(TrainingWorkerService).drain() }),
  listening: {
    message: 'trainer consuming',
    fields: (config) => ({ concurrency: config.TRAINER_CONCURRENCY }),
  },
});
