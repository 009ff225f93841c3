import { randomBytes } from 'node:crypto';
import pg from 'pg';

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
