// Creates the database if needed and applies prisma/migrations to it.
// Usage: DATABASE_URL=postgresql://... [MIGRATIONS_DIR=...] node libs/db/dist/migrate.cli.js
import { fileURLToPath } from 'node:url';
import { databaseNameOf, ensureDatabase } from './migrations/database-bootstrap.js';
import { applyMigrations } from './migrations/migration-runner.js';

// src/ and dist/ sit at the same depth, so this holds for both.
const defaultMigrationsDir = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));

function log(message: string): void {
  console.log(`[migrate] ${message}`);
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl)
    throw new Error('DATABASE_URL is not set (e.g. postgresql://maas:maas@127.0.0.1:5432/maas)');
  const migrationsDir = process.env.MIGRATIONS_DIR || defaultMigrationsDir;
  const database = databaseNameOf(databaseUrl);

  const { created } = await ensureDatabase({ databaseUrl });
  if (created) log(`created database ${database}`);
  const { applied } = await applyMigrations({ databaseUrl, migrationsDir, logger: { log } });
  log(`${applied.length} migration(s) applied to ${database} from ${migrationsDir}`);
}

// Connection failures to a host with several addresses arrive as an AggregateError whose
// own message is empty.
function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message)
    return error.errors.map(describe).join('; ');
  if (error instanceof Error)
    return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

main().catch((error: unknown) => {
  console.error(`[migrate] failed: ${describe(error)}`);
  process.exitCode = 1;
});
