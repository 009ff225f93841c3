export {
  ConfigError,
  env,
  loadConfig,
  sharedConfigShape,
  storageConfigFrom,
} from './config-loader.js';
export type { StorageConfig } from './config-loader.js';
export { effectiveLimits, PLANS } from './plans.js';
export type { TenantLimitOverrides, TenantLimits } from './plans.js';
