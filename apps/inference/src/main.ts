import 'reflect-metadata';
import { createHttpApp, createLogger, enterSandboxDirectory } from '@maas/app-runtime';
import { ConfigError, httpTimeoutsFrom, loadConfig } from '@maas/config';
import { InferenceModule } from './app.module.js';
import { inferenceConfigSchema } from './config/inference-config.js';
import { WorkerLinkServer } from './inference/link-server.js';
import { WorkerHeartbeatService } from './models/worker-heartbeat.service.js';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig(inferenceConfigSchema, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`inference: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: 'inference', level: config.LOG_LEVEL });
  // Nothing a tenant's model names relative to the working directory exists (docs/security.md).
  logger.info({ cwd: enterSandboxDirectory() }, 'working directory is an empty sandbox');
  const app = await createHttpApp(InferenceModule.forRoot(config, logger), {
    logger,
    bodyLimit: config.MAX_REQUEST_BYTES,
    timeouts: httpTimeoutsFrom(config),
    // Gateways stop routing here (next directory refresh) while the link finishes what it holds.
    drain: async (app) => {
      await app.get(WorkerHeartbeatService).withdraw();
      await app.get(WorkerLinkServer).drain();
    },
  });
  // Infer bodies are decoded by @maas/tensors (JSON or JSON + binary tensors), whatever the
  // Content-Type says: tritonclient sends none at all.
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  await app.listen(config.PORT, config.HOST);
  logger.info({ port: config.PORT }, 'inference worker listening');
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`inference failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
