export {
  ConfigError,
  env,
  loadConfig,
  masterKeyFrom,
  masterKeyRequiredInProduction,
  sharedConfigShape,
  storageConfigFrom,
} from './config-loader.js';
export type { StorageConfig } from './config-loader.js';
export { effectiveLimits, PLANS } from './plans.js';
export type { TenantLimitOverrides, TenantLimits } from './plans.js';
