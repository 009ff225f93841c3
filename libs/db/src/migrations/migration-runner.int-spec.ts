import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseNameOf, ensureDatabase, withDatabase } from './database-bootstrap.js';
import { applyMigrations, migrationChecksum, MigrationError } from './migration-runner.js';

const committedMigrations = fileURLToPath(
  new URL('../../../../prisma/migrations', import.meta.url),
);

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function tableNames(url: string): Promise<string[]> {
  const rows = await query<{ tablename: string }>(
    url,
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  );
  return rows.map((row) => row.tablename);
}

describe('applyMigrations', () => {
  let database: TestDatabase;
  let migrationsDir: string;
  let initName: string;
  let committedNames: string[];

  beforeEach(async () => {
    database = await createTestDatabase({ template: 'template0' });
    // a private copy, so tests can tamper with files and add migrations
    migrationsDir = await mkdtemp(join(tmpdir(), 'maas-migrations-'));
    await cp(committedMigrations, migrationsDir, { recursive: true });
    const names = (await readdir(migrationsDir, { withFileTypes: true })).filter((e) =>
      e.isDirectory(),
    );
    committedNames = names.map((e) => e.name).sort();
    initName = committedNames[0]!;
  });

  afterEach(async () => {
    await database.drop();
    await rm(migrationsDir, { recursive: true, force: true });
  });

  it('applies the committed migrations to an empty database and records them as Prisma does', async () => {
    const result = await applyMigrations({ databaseUrl: database.url, migrationsDir });

    expect(result.applied).toEqual(committedNames);
    expect(await tableNames(database.url)).toEqual(
      expect.arrayContaining([
        '_prisma_migrations',
        'api_keys',
        'model_label_targets',
        'model_labels',
        'model_versions',
        'models',
        'tenants',
        'users',
      ]),
    );
    const script = await readFile(join(migrationsDir, initName, 'migration.sql'), 'utf8');
    const [row] = await query(
      database.url,
      'SELECT * FROM "_prisma_migrations" ORDER BY migration_name LIMIT 1',
    );
    expect(row).toMatchObject({
      migration_name: initName,
      checksum: migrationChecksum(script),
      applied_steps_count: 1,
      logs: null,
      rolled_back_at: null,
    });
    expect(row!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row!.finished_at).toBeInstanceOf(Date);
    expect(row!.started_at).toBeInstanceOf(Date);
  });

  it('does nothing the second time', async () => {
    await applyMigrations({ databaseUrl: database.url, migrationsDir });
    const second = await applyMigrations({ databaseUrl: database.url, migrationsDir });

    expect(second.applied).toEqual([]);
    expect(await query(database.url, 'SELECT 1 FROM "_prisma_migrations"')).toHaveLength(
      committedNames.length,
    );
  });

  it('applies only the migrations added since the last run, in name order', async () => {
    await applyMigrations({ databaseUrl: database.url, migrationsDir });
    await mkdir(join(migrationsDir, '29990102000000_second'));
    await writeFile(
      join(migrationsDir, '29990102000000_second', 'migration.sql'),
      'ALTER TABLE "marks" ADD "b" INT;',
    );
    await mkdir(join(migrationsDir, '29990101000000_first'));
    await writeFile(
      join(migrationsDir, '29990101000000_first', 'migration.sql'),
      'CREATE TABLE "marks" ("a" INT);',
    );

    const result = await applyMigrations({ databaseUrl: database.url, migrationsDir });

    expect(result.applied).toEqual(['29990101000000_first', '29990102000000_second']);
    const columns = await query<{ column_name: string }>(
      database.url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'marks' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => c.column_name)).toEqual(['a', 'b']);
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    await applyMigrations({ databaseUrl: database.url, migrationsDir });
    const file = join(migrationsDir, initName, 'migration.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}\n-- edited\n`);

    const error = await applyMigrations({ databaseUrl: database.url, migrationsDir }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ code: 'checksum_mismatch', migrationName: initName });
  });

  it('accepts an applied migration whose line endings changed (git autocrlf)', async () => {
    await applyMigrations({ databaseUrl: database.url, migrationsDir });
    const file = join(migrationsDir, initName, 'migration.sql');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/\n/g, '\r\n'));

    await expect(applyMigrations({ databaseUrl: database.url, migrationsDir })).resolves.toEqual({
      applied: [],
    });
  });

  it('rolls a failing migration back entirely and applies it once fixed', async () => {
    await applyMigrations({ databaseUrl: database.url, migrationsDir });
    const dir = join(migrationsDir, '29990101000000_broken');
    await mkdir(dir);
    await writeFile(
      join(dir, 'migration.sql'),
      'CREATE TABLE "half" ("a" INT);\nALTER TABLE "nope" ADD "b" INT;',
    );

    const error = await applyMigrations({ databaseUrl: database.url, migrationsDir }).catch(
      (e: unknown) => e,
    );

    expect(error).toMatchObject({
      code: 'migration_failed',
      migrationName: '29990101000000_broken',
    });
    expect(await tableNames(database.url)).not.toContain('half');
    const [attempt] = await query(
      database.url,
      `SELECT * FROM "_prisma_migrations" WHERE migration_name = '29990101000000_broken'`,
    );
    expect(attempt).toMatchObject({ finished_at: null, applied_steps_count: 0 });
    expect(attempt!.rolled_back_at).toBeInstanceOf(Date);
    expect(attempt!.logs).toContain('"nope" does not exist');

    await writeFile(join(dir, 'migration.sql'), 'CREATE TABLE "half" ("a" INT);');
    const fixed = await applyMigrations({ databaseUrl: database.url, migrationsDir });
    expect(fixed.applied).toEqual(['29990101000000_broken']);
    expect(await tableNames(database.url)).toContain('half');
  });

  it('stops at a migration Prisma left unfinished', async () => {
    await applyMigrations({ databaseUrl: database.url, migrationsDir });
    await query(
      database.url,
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ('x', 'y', '29990101000000_crashed')`,
    );

    const error = await applyMigrations({ databaseUrl: database.url, migrationsDir }).catch(
      (e: unknown) => e,
    );

    expect(error).toMatchObject({
      code: 'failed_migration_found',
      migrationName: '29990101000000_crashed',
    });
  });

  it('applies once when two runs start at the same time', async () => {
    const messages: string[] = [];
    const logger = { log: (message: string) => messages.push(message) };

    const results = await Promise.all([
      applyMigrations({ databaseUrl: database.url, migrationsDir, logger }),
      applyMigrations({ databaseUrl: database.url, migrationsDir, logger }),
      applyMigrations({ databaseUrl: database.url, migrationsDir, logger }),
    ]);

    expect(results.flatMap((r) => r.applied)).toEqual(committedNames);
    expect(await query(database.url, 'SELECT 1 FROM "_prisma_migrations"')).toHaveLength(
      committedNames.length,
    );
  });
});

describe('ensureDatabase', () => {
  it('creates a missing database once', async () => {
    const server = await createTestDatabase({ template: 'template0' });
    const url = withDatabase(server.url, `${databaseNameOf(server.url)}_created`);
    try {
      expect(await ensureDatabase({ databaseUrl: url })).toEqual({ created: true });
      expect(await ensureDatabase({ databaseUrl: url })).toEqual({ created: false });
      expect(await query(url, 'SELECT current_database() AS name')).toEqual([
        { name: databaseNameOf(url) },
      ]);
    } finally {
      await query(server.url, `DROP DATABASE IF EXISTS "${databaseNameOf(url)}" WITH (FORCE)`);
      await server.drop();
    }
  });
});
