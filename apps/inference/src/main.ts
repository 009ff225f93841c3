import 'reflect-metadata';
import { bootstrapApp, readBody } from '@maas/app-runtime';
import { loadConfig } from '@maas/config';
import { InferenceModule } from './app.module.js';
import { inferenceConfigSchema } from './config/inference-config.js';
import { WorkerLinkServer } from './inference/link-server.js';
import { WorkerHeartbeatService } from './models/worker-heartbeat.service.js';
import { INFERENCE_V8_FLAGS } from './v8-flags.js';

void bootstrapApp({
  name: 'inference',
  loadConfig: (env) => loadConfig(inferenceConfigSchema, env),
  // Nothing a tenant's model names relative to the working directory exists (docs/security.md).
  sandboxDirectory: true,
  // Full collections grow the heap by a fixed factor (v8-flags.ts: no back-to-back collections).
  v8Flags: INFERENCE_V8_FLAGS,
  module: (config, logger) => InferenceModule.forRoot(config, logger),
  http: (config) => ({
    bodyLimit: config.MAX_REQUEST_BYTES,
    // Gateways stop routing here (next directory refresh) while the link finishes what it holds.
    drain: async (app) => {
      await app.get(WorkerHeartbeatService).withdraw();
      await app.get(WorkerLinkServer).drain();
    },
  }),
  beforeListen: (app, config) => {
    // Infer bodies are decoded by @maas/tensors (JSON or JSON + binary tensors), whatever the
    // Content-Type says: tritonclient sends none at all. Read here rather than by Fastify's
    // parseAs, which joins a body's chunks when its last one comes: only the gateway gets this
    // far (gateway-auth.hook.ts, onRequest), so its Content-Length sizes one buffer that each
    // chunk is copied into as it arrives, and a large body never holds this loop for a join.
    const fastify = app.getHttpAdapter().getInstance();
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', (request, payload, done) => {
      const declared = Number(request.headers['content-length']);
      readBody(payload, config.MAX_REQUEST_BYTES, declared).then(
        (body) => done(null, body),
        (error: Error) => done(error, undefined),
      );
    });
  },
  listening: { message: 'inference worker listening' },
});
