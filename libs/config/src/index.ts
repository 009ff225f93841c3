export {
  ConfigError,
  env,
  loadConfig,
  masterKeyFrom,
  masterKeyRequiredInProduction,
  sharedConfigShape,
  databaseOptionsFrom,
  httpTimeoutsFrom,
  storageConfigFrom,
} from './config-loader.js';
export type { StorageConfig } from './config-loader.js';
export {
  DEVELOPMENT_WORKER_SECRET,
  isProduction,
  isPublishedSecret,
  type ProductionSecret,
  productionSecretProblem,
  requireProductionSecrets,
  workerSecret,
} from './production-secrets.js';
export { effectiveLimits, PLANS } from './plans.js';
export type { TenantLimitOverrides, TenantLimits } from './plans.js';
