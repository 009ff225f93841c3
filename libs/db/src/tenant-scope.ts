import { Prisma } from './generated/prisma/client.js';

// A Prisma client extension that keeps every query of a client within one tenant, so that
// services do not have to remember `tenantId` in each where clause (PrismaService.forTenant).

type Args = Record<string, unknown>;

/** A scoped query that could reach another tenant's rows: a bug in the caller, so a 500. */
export class TenantScopeError extends Error {
  constructor(message: string) {
    super(`tenant scope: ${message}`);
    this.name = 'TenantScopeError';
  }
}

interface ParentLink {
  /** the foreign key column, e.g. `modelId` */
  field: string;
  /** the relation field it backs, e.g. `model` */
  relation: string;
  parent: Prisma.ModelName;
}

interface TenantOwnership {
  /** the rows of the tenant, as a where filter */
  filter: (tenantId: string) => Args;
  /** the row has a `tenant_id` column of its own */
  tenantColumn: boolean;
  /**
   * Foreign keys to tenant-owned rows. A scoped create turns each into a `connect` filtered by
   * the tenant, so a row can only hang off the tenant's own parents: a foreign parent fails the
   * create exactly as a missing one does (P2025).
   */
  parents: ParentLink[];
}

const TENANT: ParentLink = { field: 'tenantId', relation: 'tenant', parent: 'Tenant' };
const ownTenantColumn = (parents: ParentLink[] = [TENANT]): TenantOwnership => ({
  filter: (tenantId) => ({ tenantId }),
  tenantColumn: true,
  parents,
});

/**
 * How a row of each model belongs to a tenant. null: not tenant data, refused by a scoped
 * client. Typed over every model, so a new model does not compile until it is placed here.
 */
const OWNERSHIP: Record<Prisma.ModelName, TenantOwnership | null> = {
  Tenant: { filter: (tenantId) => ({ id: tenantId }), tenantColumn: false, parents: [] },
  TenantQuota: ownTenantColumn(),
  User: ownTenantColumn(),
  RefreshToken: {
    filter: (tenantId) => ({ user: { tenantId } }),
    tenantColumn: false,
    parents: [{ field: 'userId', relation: 'user', parent: 'User' }],
  },
  ApiKey: ownTenantColumn(),
  Model: ownTenantColumn(),
  // tenant_id without a relation to tenants: filled in as a column
  ModelVersion: ownTenantColumn([{ field: 'modelId', relation: 'model', parent: 'Model' }]),
  ModelLabel: {
    filter: (tenantId) => ({ model: { tenantId } }),
    tenantColumn: false,
    parents: [{ field: 'modelId', relation: 'model', parent: 'Model' }],
  },
  ModelLabelTarget: {
    filter: (tenantId) => ({ label: { model: { tenantId } } }),
    tenantColumn: false,
    parents: [
      { field: 'labelId', relation: 'label', parent: 'ModelLabel' },
      { field: 'versionId', relation: 'version', parent: 'ModelVersion' },
    ],
  },
  Dataset: ownTenantColumn(),
  TrainingJob: ownTenantColumn([
    TENANT,
    { field: 'datasetId', relation: 'dataset', parent: 'Dataset' },
  ]),
  TrainingJobEvent: {
    filter: (tenantId) => ({ job: { tenantId } }),
    tenantColumn: false,
    parents: [{ field: 'jobId', relation: 'job', parent: 'TrainingJob' }],
  },
  UsageCounter: ownTenantColumn([]),
  AuditLog: ownTenantColumn([]),
  UsageFlush: null,
};

const WHERE_OPERATIONS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'delete',
  'deleteMany',
  'upsert',
]);

function withFilter(where: unknown, filter: Args): Args {
  const original = (where ?? {}) as Args;
  const and = original.AND === undefined ? [] : [original.AND].flat();
  // Unique lookups (findUnique, update, delete, upsert) accept extra filters next to the unique
  // field, so the same AND works for them: another tenant's id simply matches nothing.
  return { ...original, AND: [...and, filter] };
}

/** The tenant a write names, if any, must be this one. */
function checkTenantOf(model: string, data: Args, tenantId: string): void {
  const connect = (data.tenant as { connect?: { id?: unknown } } | undefined)?.connect;
  const named = data.tenantId ?? connect?.id;
  if (named !== undefined && named !== tenantId) {
    throw new TenantScopeError(`a ${model} of another tenant cannot be written here`);
  }
}

function scopedCreateData(model: string, own: TenantOwnership, data: Args, tenantId: string) {
  checkTenantOf(model, data, tenantId);
  const result: Args = { ...data };
  for (const link of own.parents) {
    const filter = OWNERSHIP[link.parent]!.filter(tenantId);
    const nested = result[link.relation] as Args | undefined;
    if (link.field in result) {
      const id = result[link.field];
      delete result[link.field];
      result[link.relation] = { connect: { id, ...filter } };
    } else if (nested && typeof nested === 'object' && 'connect' in nested) {
      result[link.relation] = { connect: { ...(nested.connect as Args), ...filter } };
    } else if (nested !== undefined) {
      throw new TenantScopeError(`${model}.${link.relation} can only be connected, by id`);
    } else if (link === TENANT) {
      result[link.relation] = { connect: { id: tenantId } };
    }
  }
  const hasTenantRelation = own.parents.includes(TENANT);
  if (own.tenantColumn && !hasTenantRelation) result.tenantId = tenantId;
  return result;
}

/** Updates keep a row where it is: no move to another tenant, nor to another parent. */
function checkUpdateData(model: string, own: TenantOwnership, data: unknown, tenantId: string) {
  if (!data || typeof data !== 'object') return;
  checkTenantOf(model, data as Args, tenantId);
  for (const link of own.parents) {
    if (link === TENANT) continue;
    if (link.field in data || link.relation in data) {
      throw new TenantScopeError(`${model}.${link.field} cannot be changed by a scoped client`);
    }
  }
}

/** The arguments of one operation, rewritten so that it stays within the tenant. */
export function scopeToTenant(
  model: string,
  operation: string,
  args: unknown,
  tenantId: string,
): Args {
  const own = OWNERSHIP[model as Prisma.ModelName];
  if (!own) throw new TenantScopeError(`${model} is not tenant data; use the unscoped client`);
  const scoped: Args = { ...((args ?? {}) as Args) };
  const creates = operation === 'create' || operation.startsWith('createMany');
  if (creates || operation === 'upsert') {
    if (!own.tenantColumn && own.parents.length === 0) {
      throw new TenantScopeError(`a ${model} cannot be created by a scoped client`);
    }
  }
  if (operation === 'create') {
    scoped.data = scopedCreateData(model, own, scoped.data as Args, tenantId);
    return scoped;
  }
  if (creates) {
    // createMany takes plain columns only, so a parent cannot be checked in the same query.
    if (!own.tenantColumn || own.parents.some((link) => link !== TENANT)) {
      throw new TenantScopeError(`${operation} of ${model} cannot check its parents; use create`);
    }
    scoped.data = [scoped.data as Args | Args[]].flat().map((row) => {
      checkTenantOf(model, row, tenantId);
      return { ...row, tenantId };
    });
    return scoped;
  }
  if (!WHERE_OPERATIONS.has(operation)) {
    throw new TenantScopeError(`${operation} on ${model} cannot be scoped`);
  }
  scoped.where = withFilter(scoped.where, own.filter(tenantId));
  if (operation.startsWith('update')) checkUpdateData(model, own, scoped.data, tenantId);
  if (operation === 'upsert') {
    scoped.create = scopedCreateData(model, own, scoped.create as Args, tenantId);
    checkUpdateData(model, own, scoped.update, tenantId);
  }
  return scoped;
}

/** The extension behind PrismaService.forTenant: every model query stays within `tenantId`. */
export function tenantScopeExtension(tenantId: string) {
  if (!tenantId) throw new TenantScopeError('a tenant id is required');
  return Prisma.defineExtension({
    name: 'tenant-scope',
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          return query(scopeToTenant(model, operation, args, tenantId) as typeof args);
        },
      },
    },
  });
}
