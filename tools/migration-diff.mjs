// Writes the SQL that takes the database from one Prisma schema to another, with Prisma's own
// (WebAssembly) schema engine: no engine download needed. Needs a reachable Postgres (the
// engine wants a connection even for a schema-to-schema diff; nothing is changed there).
//
//   node --experimental-wasm-modules tools/migration-diff.mjs <from.prisma|empty> <to.prisma> > migration.sql
//   e.g. git show HEAD:prisma/schema.prisma > /tmp/old.prisma
//        node --experimental-wasm-modules tools/migration-diff.mjs /tmp/old.prisma prisma/schema.prisma
// Env: DIFF_DATABASE_URL (default postgresql://postgres@127.0.0.1:55432/postgres, the test server).
import { readFileSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { SchemaEngine } from '@prisma/schema-engine-wasm';

const [fromPath, toPath] = process.argv.slice(2);
if (!fromPath || !toPath) {
  process.stderr.write('usage: migration-diff.mjs <from.prisma|empty> <to.prisma>\n');
  process.exit(2);
}
const schemaFile = (path) => ({ path, content: readFileSync(path, 'utf8') });
const to = schemaFile(toPath);
const adapter = bindMigrationAwareSqlAdapterFactory(
  new PrismaPg({
    connectionString:
      process.env.DIFF_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:55432/postgres',
  }),
);
const engine = await SchemaEngine.new(
  { datamodels: [[to.path, to.content]] },
  (message) => process.stderr.write(`[engine] ${message}\n`),
  adapter,
);
const result = await engine.diff({
  from:
    fromPath === 'empty'
      ? { tag: 'empty' }
      : { tag: 'schemaDatamodel', files: [schemaFile(fromPath)] },
  to: { tag: 'schemaDatamodel', files: [to] },
  script: true,
  exitCode: null,
  filters: { externalTables: [], externalEnums: [] },
});
process.stdout.write((result.stdout ?? '').replace(/^\n+/, ''));
