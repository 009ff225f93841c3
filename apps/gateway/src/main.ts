import 'reflect-metadata';
import multipart from '@fastify/multipart';
import { bootstrapApp, METRICS_REGISTRY, ProxyTrust } from '@maas/app-runtime';
import { loadConfig } from '@maas/config';
import { GatewayModule } from './app.module.js';
import { ApiKeyService } from './auth/api-key.service.js';
import { presentedApiKey } from './auth/guards.js';
import { gatewayConfigSchema } from './config/gateway-config.js';
import { RouteCatalog } from './docs/route-catalog.js';
import { configureBodyParsing } from './http/body-parsing.js';
import { admitRequestsFairly } from './http/fair-admission.js';
import { refuseControlCharactersInUrls } from './http/url-guard.js';
import { GATEWAY_V8_FLAGS } from './v8-flags.js';

void bootstrapApp({
  name: 'gateway',
  v8Flags: GATEWAY_V8_FLAGS,
  loadConfig: (env) => loadConfig(gatewayConfigSchema, env),
  // Nothing a tenant's model names relative to the working directory exists (docs/security.md).
  sandboxDirectory: true,
  module: (config, logger) => GatewayModule.forRoot(config, logger),
  http: (config) => ({ trustProxy: config.TRUST_PROXY }),
  beforeListen: async (app, config, logger) => {
    const fastify = app.getHttpAdapter().getInstance();
    const apiKeys = app.get(ApiKeyService);
    const proxies = app.get(ProxyTrust);
    const server = fastify.server;
    // Outermost 'request' listener, in front of the inference hot path and Fastify: a burst from
    // one tenant waits its turns (http/fair-admission.ts).
    server.once('listening', () =>
      admitRequestsFairly(server, {
        clientOf: (request) => {
          const key = presentedApiKey(request);
          const tenant = key ? apiKeys.tenantOfVerifiedKey(key) : undefined;
          return tenant ? `tenant:${tenant}` : `ip:${proxies.of(request)}`;
        },
        registry: app.get(METRICS_REGISTRY),
        alonePerTurn: config.ADMISSIONS_PER_TURN_ALONE,
      }),
    );
    const routes = app.get(RouteCatalog);
    fastify.addHook('onRoute', (route) => routes.add(route.method, route.url));
    configureBodyParsing(fastify, config.MAX_JSON_BODY_BYTES);
    refuseControlCharactersInUrls(fastify, logger);
    await app.register(multipart as never, {
      limits: { fileSize: config.MAX_UPLOAD_BYTES + 1, files: 1 },
    });
  },
  listening: { message: 'gateway listening' },
});
