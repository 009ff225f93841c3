import type { ApiKeyCreate, MaasClient, QuotaLimits, Tenant } from '@maas/sdk';
import { type CommandSpec, UsageError } from '../args.js';
import { CliError, type Context } from '../context.js';
import { fields, formatDate, table } from '../format.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCOPES = ['infer', 'models:read', 'models:write', 'train', 'usage:read'];
const QUOTA_KEYS = [
  'requestsPerSecond',
  'burst',
  'monthlyRequests',
  'monthlyTrainingMinutes',
  'concurrentTrainingJobs',
  'storageBytes',
  'maxModels',
];

/** A tenant by id, or by name (looked up among all tenants). */
async function resolveTenant(client: MaasClient, given: string): Promise<Tenant> {
  if (UUID.test(given)) return client.admin.tenants.get(given);
  for await (const tenant of client.admin.tenants.all()) {
    if (tenant.name === given) return tenant;
  }
  throw new CliError(`no tenant named '${given}' (maas admin tenants list)`);
}

/** `k=v` quota settings: a number, or `null`/`default` for the plan's value. */
export function parseQuotas(pairs: readonly string[]): QuotaLimits {
  const limits: Record<string, number | null> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z]+)=(.+)$/.exec(pair);
    if (!match) throw new UsageError(`'${pair}' is not k=v`);
    const [, key, raw] = match as unknown as [string, string, string];
    if (!QUOTA_KEYS.includes(key)) {
      throw new UsageError(`unknown quota '${key}' (one of ${QUOTA_KEYS.join(', ')})`);
    }
    if (raw === 'null' || raw === 'default') {
      limits[key] = null;
      continue;
    }
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      throw new UsageError(`quota ${key}: '${raw}' is not a non-negative number (or null)`);
    }
    limits[key] = value;
  }
  if (Object.keys(limits).length === 0) throw new UsageError('give at least one k=v');
  return limits as QuotaLimits;
}

const tenantColumns = [
  { header: 'id', value: (t: Tenant) => t.id },
  { header: 'name', value: (t: Tenant) => t.name },
  { header: 'status', value: (t: Tenant) => t.status },
  { header: 'plan', value: (t: Tenant) => t.plan },
  { header: 'created', value: (t: Tenant) => formatDate(t.createdAt) },
];

function tenantStatusCommand(word: 'suspend' | 'activate', summary: string): CommandSpec<Context> {
  return {
    path: ['admin', 'tenants', word],
    args: [{ name: 'TENANT' }],
    options: [],
    summary,
    async run(ctx, { args }) {
      const client = await ctx.adminClient();
      const tenant = await resolveTenant(client, args.TENANT as string);
      const updated =
        word === 'suspend'
          ? await client.admin.tenants.suspend(tenant.id)
          : await client.admin.tenants.activate(tenant.id);
      if (ctx.json) return ctx.printJson(updated);
      ctx.out(`Tenant ${updated.name} (${updated.id}) is ${updated.status}\n`);
    },
  };
}

export const adminCommands: CommandSpec<Context>[] = [
  {
    path: ['admin', 'tenants', 'list'],
    args: [],
    options: [],
    summary: 'List tenants',
    async run(ctx) {
      const client = await ctx.adminClient();
      const tenants: Tenant[] = [];
      for await (const tenant of client.admin.tenants.all()) tenants.push(tenant);
      if (ctx.json) return ctx.printJson(tenants);
      ctx.out(table(tenants, tenantColumns));
    },
  },
  {
    path: ['admin', 'tenants', 'create'],
    args: [{ name: 'NAME' }],
    options: [{ name: 'plan', value: 'PLAN', description: 'free, standard or enterprise' }],
    summary: 'Create a tenant',
    async run(ctx, { args, options }) {
      const client = await ctx.adminClient();
      let tenant = await client.admin.tenants.create(args.NAME as string);
      if (options.plan) {
        tenant = await client.admin.tenants.update(tenant.id, { plan: options.plan as string });
      }
      if (ctx.json) return ctx.printJson(tenant);
      ctx.out(`Created tenant ${tenant.name} (${tenant.id}), plan ${tenant.plan}\n`);
    },
  },
  tenantStatusCommand('suspend', 'Suspend a tenant: its keys and tokens stop working at once'),
  tenantStatusCommand('activate', 'Reactivate a suspended tenant'),
  {
    path: ['admin', 'keys', 'list'],
    args: [{ name: 'TENANT' }],
    options: [],
    summary: "List a tenant's API keys",
    async run(ctx, { args }) {
      const client = await ctx.adminClient();
      const tenant = await resolveTenant(client, args.TENANT as string);
      const keys = (await client.admin.keys.list(tenant.id)).items;
      if (ctx.json) return ctx.printJson(keys);
      ctx.out(
        table(keys, [
          { header: 'id', value: (k) => k.id },
          { header: 'name', value: (k) => k.name },
          { header: 'prefix', value: (k) => k.prefix },
          { header: 'scopes', value: (k) => k.scopes.join(' ') },
          { header: 'revoked', value: (k) => formatDate(k.revokedAt) },
          { header: 'last used', value: (k) => formatDate(k.lastUsedAt) },
        ]),
      );
    },
  },
  {
    path: ['admin', 'keys', 'create'],
    args: [{ name: 'TENANT' }],
    options: [
      { name: 'name', value: 'N', description: 'what the key is for (default: cli)' },
      { name: 'scopes', value: 'A,B', description: `scopes (default: all: ${SCOPES.join(',')})` },
      { name: 'expires', value: 'DATE', description: 'when it stops working (ISO 8601)' },
    ],
    summary: 'Create an API key for a tenant (the secret is shown once)',
    async run(ctx, { args, options }) {
      const scopes = options.scopes
        ? (options.scopes as string).split(',').map((s) => s.trim())
        : undefined;
      const unknown = scopes?.filter((s) => !SCOPES.includes(s)) ?? [];
      if (unknown.length > 0) {
        throw new UsageError(`unknown scope ${unknown.join(', ')} (one of ${SCOPES.join(', ')})`);
      }
      const client = await ctx.adminClient();
      const tenant = await resolveTenant(client, args.TENANT as string);
      const key = await client.admin.keys.create(tenant.id, {
        name: (options.name as string | undefined) ?? 'cli',
        ...(scopes && { scopes: scopes as ApiKeyCreate['scopes'] }),
        ...(options.expires !== undefined && {
          expiresAt: new Date(options.expires as string).toISOString(),
        }),
      });
      if (ctx.json) return ctx.printJson(key);
      ctx.out(
        fields([
          ['key', key.key],
          ['id', key.id],
          ['tenant', `${tenant.name} (${tenant.id})`],
          ['scopes', key.scopes.join(' ')],
        ]),
      );
      ctx.note('Keep the key now: it is not shown again.\n');
    },
  },
  {
    path: ['admin', 'keys', 'revoke'],
    args: [{ name: 'TENANT' }, { name: 'KEY_ID' }],
    options: [],
    summary: 'Revoke an API key (on every gateway at once)',
    async run(ctx, { args }) {
      const client = await ctx.adminClient();
      const tenant = await resolveTenant(client, args.TENANT as string);
      const key = await client.admin.keys.revoke(tenant.id, args.KEY_ID as string);
      if (ctx.json) return ctx.printJson(key);
      ctx.out(`Revoked key ${key.prefix} (${key.id}) of ${tenant.name}\n`);
    },
  },
  {
    path: ['admin', 'quotas', 'show'],
    args: [{ name: 'TENANT' }],
    options: [],
    summary: "A tenant's limits: its plan, the overrides, what is in force",
    async run(ctx, { args }) {
      const client = await ctx.adminClient();
      const tenant = await resolveTenant(client, args.TENANT as string);
      const quotas = await client.admin.quotas.get(tenant.id);
      if (ctx.json) return ctx.printJson(quotas);
      printQuotas(ctx, tenant, quotas);
    },
  },
  {
    path: ['admin', 'quotas', 'set'],
    args: [{ name: 'TENANT' }, { name: 'k=v', variadic: true }],
    options: [],
    summary: "Override a tenant's limits (k=null goes back to the plan's)",
    description: `Keys: ${QUOTA_KEYS.join(', ')}.`,
    examples: ['maas admin quotas set acme requestsPerSecond=50 burst=100 maxModels=null'],
    async run(ctx, { args }) {
      const limits = parseQuotas(args['k=v'] as string[]);
      const client = await ctx.adminClient();
      const tenant = await resolveTenant(client, args.TENANT as string);
      const quotas = await client.admin.quotas.set(tenant.id, limits);
      if (ctx.json) return ctx.printJson(quotas);
      printQuotas(ctx, tenant, quotas);
    },
  },
];

function printQuotas(
  ctx: Context,
  tenant: Tenant,
  quotas: {
    plan: string;
    overrides: Record<string, number | null>;
    effective: Record<string, number | null>;
  },
) {
  ctx.out(`Tenant ${tenant.name}, plan ${quotas.plan}\n\n`);
  ctx.out(
    table(Object.keys(quotas.effective), [
      { header: 'limit', value: (k) => k },
      { header: 'in force', value: (k) => quotas.effective[k], right: true },
      {
        header: 'override',
        value: (k) => (k in quotas.overrides ? quotas.overrides[k] : ''),
        right: true,
      },
    ]),
  );
}
