export {
  ACCESS_LOG_FLUSH_MS,
  accessLogOf,
  APP_LOGGER,
  createLogger,
  PinoNestLogger,
  REDACTED_PATHS,
  writeAccessLine,
} from './logger.js';
export type { AccessLine, Logger } from './logger.js';
export { HttpMetrics, METRICS_REGISTRY, MetricsController, MetricsModule } from './metrics.js';
export { LabelledCounter, LabelledHistogram } from './fast-metrics.js';
export {
  HealthController,
  HealthModule,
  READINESS_CHECKS,
  ReadinessFailure,
  readinessOf,
} from './health.js';
export { OpsServer, type OpsServerOptions } from './ops-server.js';
export { setIoDeadline } from './io-deadline.js';
export type { ReadinessCheck } from './health.js';
export { createHttpApp, interceptRequests, recordRequest, requestIdFor } from './http-app.js';
export { type AppBootConfig, type AppBootstrap, bootstrapApp } from './bootstrap-app.js';
export { AppCoreModule, type AppCoreOptions } from './app-core.module.js';
export type { AnsweredRequest, HttpAppOptions, RequestInterceptor } from './http-app.js';
export {
  DEPENDENCY_RETRY_AFTER_SECONDS,
  dependencyUnavailableOf,
  DomainError,
  ERROR_STATUS,
  invalidArgument,
  notFound,
  statusOf,
} from './errors.js';
export type { Dependency, ErrorCode } from './errors.js';
export {
  AppExceptionFilter,
  type ErrorAnswer,
  errorAnswerOf,
  sendError,
  sendRawError,
  usesInferenceErrorShape,
} from './exception.filter.js';
export { ZodPipe } from './zod-body.pipe.js';
export { createRedis, REDIS, RedisModule } from './redis.module.js';
export { RedisScript } from './redis-script.js';
export { LruCache, TtlCache } from './ttl-cache.js';
export { clientIdentityOf, parseTrustedProxies, ProxyTrust, TrustProxyError } from './client-ip.js';
export { enterSandboxDirectory } from './sandbox-directory.js';
export { pathOf } from './request-path.js';
export { readBody } from './request-body.js';
