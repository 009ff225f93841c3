export const DB_MODULE_OPTIONS = Symbol('DB_MODULE_OPTIONS');

export interface DbModuleOptions {
  /** postgresql://user:password@host:port/database */
  databaseUrl: string;
  /** A statement running longer is cancelled by PostgreSQL (default 30 s). */
  statementTimeoutMs?: number;
  /**
   * Waiting for a pooled connection (or for a new one to connect) longer fails the query
   * (default 5 s): a stuck database answers errors instead of piling up requests.
   */
  acquireTimeoutMs?: number;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}
