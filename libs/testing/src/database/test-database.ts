import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

export interface TestDatabase {
  /** Connection URL of the new database. */
  url: string;
  /** Terminates its connections and drops it. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Database to copy; default `maas_template` (migrated by scripts/test.sh). `template0` gives an empty one. */
  template?: string;
}

// Another session on the template (e.g. the migrate CLI just finishing) makes CREATE
// DATABASE ... TEMPLATE fail with object_in_use; it clears within moments.
const OBJECT_IN_USE = '55006';

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function adminUrl(): string {
  // The one place tests learn where Postgres is.
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'TEST_DATABASE_URL is not set: run the tests through scripts/test.sh (it starts Postgres and ' +
        'migrates the maas_template database), or set it to an admin URL such as ' +
        'postgresql://postgres@127.0.0.1:55432/postgres of a server with a migrated maas_template',
    );
  }
  return url;
}

async function withAdmin<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A fresh database of its own for one test file, copied from the migrated template. */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const admin = adminUrl();
  const template = options.template ?? 'maas_template';
  const name = `maas_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

  await withAdmin(admin, async (client) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${quote(name)} TEMPLATE ${quote(template)}`);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== OBJECT_IN_USE || attempt >= 20) {
          throw new Error(
            `cannot create test database from template ${template}: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  });

  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdmin(admin, async (client) => {
        // FORCE terminates the connections a test left open (pools not yet closed).
        await client.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
      }),
  };
}

/** What `useTestDatabase` gives a spec once its beforeAll has run. */
export interface TestDatabaseContext<Client> {
  readonly database: TestDatabase;
  readonly client: Client;
}

/**
 * Registers the hooks of a spec that works on a database of its own: before all its tests a
 * fresh copy of the template and a client on it (`connect`, e.g. a PrismaService); after them
 * the client is disconnected and the database dropped. Call at the top of a spec file or a
 * describe block; read the context inside tests and hooks.
 */
export function useTestDatabase<Client extends { $disconnect(): Promise<void> }>(
  connect: (url: string) => Client,
): TestDatabaseContext<Client> {
  let database: TestDatabase | undefined;
  let client: Client | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    client = connect(database.url);
  });
  afterAll(async () => {
    await client?.$disconnect();
    await database?.drop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useTestDatabase: read before its beforeAll ran');
    return value;
  };
  return {
    get database() {
      return ready(database);
    },
    get client() {
      return ready(client);
    },
  };
}
