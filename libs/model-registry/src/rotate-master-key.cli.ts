// Re-wraps every tenant's data key under a new platform master key; artifacts are untouched.
// Usage:
//   DATABASE_URL=postgresql://... OLD_MASTER_KEY=<base64> [OLD_MASTER_KEY_ID=...] \
//   NEW_MASTER_KEY=<base64> [NEW_MASTER_KEY_ID=...] node libs/model-registry/dist/rotate-master-key.cli.js
// OLD_MASTER_KEY unset means the development key (what apps use when MASTER_KEY is unset).
// Then restart the apps with MASTER_KEY=<new> (and MASTER_KEY_ID=<new id> if you named it).
// Re-running is safe: tenants already on the new key are skipped.
import { masterKeyFrom } from '@maas/config';
import { PrismaService } from '@maas/db';
import { rotateMasterKey } from './integrity/tenant-data-keys.js';

function keyFrom(prefix: 'OLD' | 'NEW') {
  const value = process.env[`${prefix}_MASTER_KEY`] || undefined;
  if (value !== undefined && Buffer.from(value, 'base64').length !== 32) {
    throw new Error(`${prefix}_MASTER_KEY must be the base64 encoding of 32 bytes`);
  }
  if (prefix === 'NEW' && value === undefined) throw new Error('NEW_MASTER_KEY is not set');
  return masterKeyFrom({
    NODE_ENV: 'development',
    MASTER_KEY: value,
    MASTER_KEY_ID: process.env[`${prefix}_MASTER_KEY_ID`] || undefined,
  });
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set');
  const from = keyFrom('OLD');
  const to = keyFrom('NEW');
  const prisma = new PrismaService({ databaseUrl });
  try {
    const result = await rotateMasterKey(prisma, from, to);
    console.log(
      `[rotate-master-key] ${result.rewrapped} data key(s) re-wrapped from '${from.id}' to '${to.id}', ` +
        `${result.alreadyCurrent} already on '${to.id}'`,
    );
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(`[rotate-master-key] failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
