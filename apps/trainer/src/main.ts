import 'reflect-metadata';
import { createHttpApp, createLogger } from '@maas/app-runtime';
import { ConfigError, httpTimeoutsFrom, loadConfig } from '@maas/config';
import { TrainerModule } from './app.module.js';
import { trainerConfigSchema } from './config/trainer-config.js';
import { TrainingWorkerService } from './jobs/training-worker.service.js';

/**
 * The trainer consumes the training queue; its HTTP port serves only /healthz, /readyz and
 * /metrics. SIGTERM closes the BullMQ worker (the running job finishes or is retried).
 */
async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig(trainerConfigSchema, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`trainer: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: 'trainer', level: config.LOG_LEVEL });
  const app = await createHttpApp(TrainerModule.forRoot(config, logger), {
    logger,
    beforeClose: (app) => app.get(TrainingWorkerService).drain(),
    timeouts: httpTimeoutsFrom(config),
  });
  await app.listen(config.PORT, config.HOST);
  logger.info({ port: config.PORT, concurrency: config.TRAINER_CONCURRENCY }, 'trainer consuming');
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`trainer failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
