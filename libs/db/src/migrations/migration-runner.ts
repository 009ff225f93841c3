import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

// Applies the committed prisma/migrations/*/migration.sql files and records them in
// _prisma_migrations exactly as `prisma migrate deploy` does, so either tool can take over
// from the other (the native engine is not reachable on every machine; this needs none).

export interface MigrationLogger {
  log(message: string): void;
}

export interface ApplyMigrationsOptions {
  databaseUrl: string;
  /** Folder holding `<name>/migration.sql` folders, e.g. prisma/migrations. */
  migrationsDir: string;
  logger?: MigrationLogger;
}

export interface ApplyMigrationsResult {
  /** Names of the migrations applied by this call, in order; empty when up to date. */
  applied: string[];
}

export type MigrationErrorCode =
  'migrations_dir_unreadable' | 'checksum_mismatch' | 'failed_migration_found' | 'migration_failed';

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    readonly migrationName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

// The lock id Prisma's schema engine takes, so this runner and `prisma migrate deploy`
// also exclude each other.
const ADVISORY_LOCK_ID = 72707369;

// Prisma's own definition of the table (schema engine, postgres flavour).
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface MigrationFile {
  name: string;
  script: string;
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

// Prisma accepts a file whose line endings changed since it was applied (git autocrlf).
function checksumMatches(script: string, checksum: string): boolean {
  const lf = script.replace(/\r\n/g, '\n');
  const variants = [script, lf, lf.replace(/\n/g, '\r\n')];
  return variants.some((variant) => migrationChecksum(variant) === checksum.toLowerCase());
}

export async function readMigrations(migrationsDir: string): Promise<MigrationFile[]> {
  let entries;
  try {
    entries = await readdir(migrationsDir, { withFileTypes: true });
  } catch (error) {
    throw new MigrationError(
      'migrations_dir_unreadable',
      `cannot read migrations directory ${migrationsDir}: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  }
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrations: MigrationFile[] = [];
  for (const name of names) {
    let script: string;
    try {
      script = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8');
    } catch (error) {
      // Prisma ignores folders without a migration.sql as well (e.g. a stray editor folder)
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    migrations.push({ name, script, checksum: migrationChecksum(script) });
  }
  return migrations;
}

export async function applyMigrations(
  options: ApplyMigrationsOptions,
): Promise<ApplyMigrationsResult> {
  const { databaseUrl, migrationsDir, logger } = options;
  const migrations = await readMigrations(migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Session-level lock: a second process starting at the same time waits here, then finds
    // everything applied.
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1) AS locked',
      [ADVISORY_LOCK_ID],
    );
    if (!rows[0]?.locked) {
      logger?.log('another process is applying migrations; waiting for it');
      await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_ID]);
    }
    try {
      return await applyLocked(client, migrations, logger);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_ID]);
    }
  } finally {
    await client.end();
  }
}

async function applyLocked(
  client: pg.Client,
  migrations: MigrationFile[],
  logger: MigrationLogger | undefined,
): Promise<ApplyMigrationsResult> {
  await client.query(CREATE_MIGRATIONS_TABLE);
  const { rows } = await client.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"
     WHERE rolled_back_at IS NULL ORDER BY started_at ASC`,
  );

  // Same rule as Prisma (P3009): an unfinished, not rolled back row needs a person to look.
  const failed = rows.find((row) => row.finished_at === null);
  if (failed) {
    throw new MigrationError(
      'failed_migration_found',
      `migration ${failed.migration_name} started but did not finish; fix the database, then mark it ` +
        `rolled back (prisma migrate resolve --rolled-back ${failed.migration_name}) or applied`,
      failed.migration_name,
    );
  }

  const appliedByName = new Map(rows.map((row) => [row.migration_name, row]));
  const applied: string[] = [];
  for (const migration of migrations) {
    const row = appliedByName.get(migration.name);
    if (row) {
      if (!checksumMatches(migration.script, row.checksum)) {
        throw new MigrationError(
          'checksum_mismatch',
          `migration ${migration.name} was modified after it was applied (checksum ${migration.checksum}, ` +
            `recorded ${row.checksum}); add a new migration instead of editing an applied one`,
          migration.name,
        );
      }
      continue;
    }
    await applyOne(client, migration, logger);
    applied.push(migration.name);
  }
  if (applied.length === 0) logger?.log('database is up to date');
  return { applied };
}

async function applyOne(
  client: pg.Client,
  migration: MigrationFile,
  logger: MigrationLogger | undefined,
) {
  const id = randomUUID();
  logger?.log(`applying migration ${migration.name}`);
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 0)`,
      [id, migration.checksum, migration.name],
    );
    // No parameters: the simple query protocol runs a multi-statement script.
    await client.query(migration.script);
    await client.query(
      `UPDATE "_prisma_migrations" SET applied_steps_count = applied_steps_count + 1, finished_at = clock_timestamp()
       WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const message = (error as Error).message;
    // The transaction left nothing behind, so the attempt is recorded as rolled back (which
    // Prisma ignores) rather than failed: the fixed file can simply be applied again.
    await client
      .query(
        `INSERT INTO "_prisma_migrations"
           (id, checksum, migration_name, logs, started_at, rolled_back_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, now(), now(), 0)`,
        [id, migration.checksum, migration.name, message],
      )
      .catch(() => undefined);
    throw new MigrationError(
      'migration_failed',
      `migration ${migration.name} failed and was rolled back: ${message}`,
      migration.name,
      { cause: error },
    );
  }
  logger?.log(`applied migration ${migration.name}`);
}
