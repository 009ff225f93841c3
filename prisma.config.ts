import { defineConfig } from 'prisma/config';

// `prisma generate` never runs the schema engine but wants its path to exist; point it at
// this file where no native engine is installed (offline machines). Migrations are applied
// by `node libs/db/dist/migrate.cli.js` (libs/db/src/migrations), which needs no engine.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= new URL('./prisma.config.ts', import.meta.url).pathname;

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://maas:maas@127.0.0.1:5432/maas' },
});
