import pg from 'pg';

// Postgres errors meaning "someone else created it first" when two processes race.
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The database a connection URL points at, and the same URL pointed at another database. */
export function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!name)
    throw new Error('the database URL names no database (expected postgresql://host:port/<name>)');
  return name;
}

export function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * Creates the database named in `databaseUrl` when it does not exist, connecting to the
 * server's `postgres` database to do so. Answers whether it created it.
 */
export async function ensureDatabase(options: {
  databaseUrl: string;
}): Promise<{ created: boolean }> {
  const name = databaseNameOf(options.databaseUrl);
  const client = new pg.Client({ connectionString: withDatabase(options.databaseUrl, 'postgres') });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount) return { created: false };
    try {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
      return { created: true };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === DUPLICATE_DATABASE || code === UNIQUE_VIOLATION) return { created: false };
      throw error;
    }
  } finally {
    await client.end();
  }
}
