export {
  createTestDatabase,
  type TestDatabase,
  type TestDatabaseOptions,
  type TestDatabaseContext,
  useTestDatabase,
} from './database/test-database.js';
export { AppProcess, REPO_ROOT, type AppName } from './platform/app-process.js';
export { freePort } from './platform/free-port.js';
export {
  startPrivatePostgres,
  startPrivateRedis,
  type PrivatePostgres,
  type PrivateRedis,
} from './platform/private-services.js';
export { linkStranger } from './platform/link-stranger.js';
export { startTestPlatform, testRedisUrl, type TestPlatform } from './platform/test-platform.js';
export {
  adminToken,
  createTenantWithKey,
  gatewayFetch,
  jsonApi,
  type JsonApi,
  uploadModelVersion,
  type JsonRequest,
} from './platform/platform-client.js';
export { startS3rver, type S3rverProcess } from './storage/s3rver-process.js';
export {
  buildTfjsArchive,
  packTfjsLayersModel,
  type TfjsArchiveOptions,
  type TfjsPackOptions,
} from './fixtures/tfjs-archive.js';
export { gzipBomb, zipBomb } from './fixtures/archive-bombs.js';
export { heapLimitFactors } from './v8/heap-limit-factors.js';
export { loopTurnsDuring } from './event-loop-turns.js';
export { WEATHER_COLUMNS, WEATHER_CSV, WEATHER_ROWS } from './fixtures/weather.js';
