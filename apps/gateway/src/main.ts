import 'reflect-metadata';
import multipart from '@fastify/multipart';
import { createHttpApp, createLogger, enterSandboxDirectory } from '@maas/app-runtime';
import { ConfigError, httpTimeoutsFrom, loadConfig } from '@maas/config';
import { GatewayModule } from './app.module.js';
import { gatewayConfigSchema } from './config/gateway-config.js';
import { RouteCatalog } from './docs/route-catalog.js';
import { configureBodyParsing } from './http/body-parsing.js';
import { refuseControlCharactersInUrls } from './http/url-guard.js';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig(gatewayConfigSchema, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gateway: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: 'gateway', level: config.LOG_LEVEL });
  // Nothing a tenant's model names relative to the working directory exists (docs/security.md).
  logger.info({ cwd: enterSandboxDirectory() }, 'working directory is an empty sandbox');
  const app = await createHttpApp(GatewayModule.forRoot(config, logger), {
    logger,
    trustProxy: config.TRUST_PROXY,
    timeouts: httpTimeoutsFrom(config),
  });
  const fastify = app.getHttpAdapter().getInstance();
  const routes = app.get(RouteCatalog);
  fastify.addHook('onRoute', (route) => routes.add(route.method, route.url));
  configureBodyParsing(fastify, config.MAX_JSON_BODY_BYTES);
  refuseControlCharactersInUrls(fastify, logger);
  await app.register(multipart as never, {
    limits: { fileSize: config.MAX_UPLOAD_BYTES + 1, files: 1 },
  });
  await app.listen(config.PORT, config.HOST);
  logger.info({ port: config.PORT }, 'gateway listening');
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`gateway failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
