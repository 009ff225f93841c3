export const DB_MODULE_OPTIONS = Symbol('DB_MODULE_OPTIONS');

export interface DbModuleOptions {
  /** postgresql://user:password@host:port/database */
  databaseUrl: string;
}
