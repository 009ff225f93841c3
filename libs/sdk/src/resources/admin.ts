import type { CallOptions } from '../http/typed-paths.js';
import type { Transport } from '../http/transport.js';
import type {
  AdminTrainingJob,
  AdminUsageQuery,
  ApiKey,
  ApiKeyCreate,
  ApiKeyCreated,
  AuditEntry,
  InferenceWorker,
  Page,
  PageQuery,
  QuotaLimits,
  Quotas,
  Tenant,
  TenantUpdate,
  TrainingJobStatus,
  Usage,
  User,
  UserCreate,
} from '../types.js';
import { everyPage } from './models.js';
import { toInstant } from './usage.js';

/** Tenants: create, suspend, reactivate, change plan, delete (with everything they own). */
export class AdminTenants {
  constructor(private readonly transport: Transport) {}

  list(query: PageQuery = {}, options: CallOptions = {}): Promise<Page<Tenant>> {
    return this.transport.call('get', '/api/admin/tenants', { query, ...options }, 'admin');
  }

  all(options: CallOptions = {}): AsyncGenerator<Tenant> {
    return everyPage((cursor) => this.list({ cursor, limit: 200 }, options));
  }

  create(name: string, options: CallOptions = {}): Promise<Tenant> {
    return this.transport.call(
      'post',
      '/api/admin/tenants',
      { body: { name }, ...options },
      'admin',
    );
  }

  get(id: string, options: CallOptions = {}): Promise<Tenant> {
    return this.transport.call(
      'get',
      '/api/admin/tenants/{id}',
      { path: { id }, ...options },
      'admin',
    );
  }

  update(id: string, body: TenantUpdate, options: CallOptions = {}): Promise<Tenant> {
    return this.transport.call(
      'patch',
      '/api/admin/tenants/{id}',
      { path: { id }, body, ...options },
      'admin',
    );
  }

  /** Refuses the tenant's keys and tokens on every gateway at once. */
  suspend(id: string, options: CallOptions = {}): Promise<Tenant> {
    return this.update(id, { status: 'suspended' }, options);
  }

  activate(id: string, options: CallOptions = {}): Promise<Tenant> {
    return this.update(id, { status: 'active' }, options);
  }

  async delete(id: string, options: CallOptions = {}): Promise<void> {
    await this.transport.call(
      'delete',
      '/api/admin/tenants/{id}',
      { path: { id }, ...options },
      'admin',
    );
  }
}

/** A tenant's API keys (the secret is in the create answer only). */
export class AdminKeys {
  constructor(private readonly transport: Transport) {}

  list(tenantId: string, options: CallOptions = {}): Promise<Page<ApiKey>> {
    return this.transport.call(
      'get',
      '/api/admin/tenants/{id}/api-keys',
      { path: { id: tenantId }, ...options },
      'admin',
    ) as Promise<Page<ApiKey>>;
  }

  create(tenantId: string, body: ApiKeyCreate, options: CallOptions = {}): Promise<ApiKeyCreated> {
    return this.transport.call(
      'post',
      '/api/admin/tenants/{id}/api-keys',
      { path: { id: tenantId }, body, ...options },
      'admin',
    );
  }

  /** Revokes the key on every gateway at once. */
  revoke(tenantId: string, keyId: string, options: CallOptions = {}): Promise<ApiKey> {
    return this.transport.call(
      'delete',
      '/api/admin/tenants/{id}/api-keys/{keyId}',
      { path: { id: tenantId, keyId }, ...options },
      'admin',
    ) as Promise<ApiKey>;
  }
}

/** A tenant's limits: overrides of its plan (`null` = back to the plan's value). */
export class AdminQuotas {
  constructor(private readonly transport: Transport) {}

  get(tenantId: string, options: CallOptions = {}): Promise<Quotas> {
    return this.transport.call(
      'get',
      '/api/admin/tenants/{id}/quotas',
      { path: { id: tenantId }, ...options },
      'admin',
    );
  }

  /** Sets any subset of the limits; in force on the gateways within a second. */
  set(tenantId: string, limits: QuotaLimits, options: CallOptions = {}): Promise<Quotas> {
    return this.transport.call(
      'put',
      '/api/admin/tenants/{id}/quotas',
      { path: { id: tenantId }, body: limits, ...options },
      'admin',
    );
  }
}

/** A tenant's members (users who log in with email and password). */
export class AdminUsers {
  constructor(private readonly transport: Transport) {}

  list(tenantId: string, options: CallOptions = {}): Promise<Page<User>> {
    return this.transport.call(
      'get',
      '/api/admin/tenants/{id}/users',
      { path: { id: tenantId }, ...options },
      'admin',
    ) as Promise<Page<User>>;
  }

  create(tenantId: string, body: UserCreate, options: CallOptions = {}): Promise<User> {
    return this.transport.call(
      'post',
      '/api/admin/tenants/{id}/users',
      { path: { id: tenantId }, body, ...options },
      'admin',
    );
  }

  async delete(tenantId: string, userId: string, options: CallOptions = {}): Promise<void> {
    await this.transport.call(
      'delete',
      '/api/admin/tenants/{id}/users/{userId}',
      { path: { id: tenantId, userId }, ...options },
      'admin',
    );
  }
}

/** The platform admin's API (`/api/admin`, admin JWT from `client.auth.login`). */
export class Admin {
  readonly tenants: AdminTenants;
  readonly keys: AdminKeys;
  readonly quotas: AdminQuotas;
  readonly users: AdminUsers;

  constructor(private readonly transport: Transport) {
    this.tenants = new AdminTenants(transport);
    this.keys = new AdminKeys(transport);
    this.quotas = new AdminQuotas(transport);
    this.users = new AdminUsers(transport);
  }

  /** Usage across tenants (by tenant by default), or one tenant's. */
  usage(
    query: Omit<AdminUsageQuery, 'from' | 'to'> & { from?: Date | string; to?: Date | string } = {},
    options: CallOptions = {},
  ): Promise<Usage> {
    return this.transport.call(
      'get',
      '/api/admin/usage',
      { query: { ...query, from: toInstant(query.from), to: toInstant(query.to) }, ...options },
      'admin',
    );
  }

  trainingJobs(
    query: PageQuery & { tenantId?: string; status?: TrainingJobStatus } = {},
    options: CallOptions = {},
  ): Promise<Page<AdminTrainingJob>> {
    return this.transport.call('get', '/api/admin/training-jobs', { query, ...options }, 'admin');
  }

  workers(options: CallOptions = {}): Promise<{ items: InferenceWorker[] }> {
    return this.transport.call('get', '/api/admin/workers', options, 'admin') as Promise<{
      items: InferenceWorker[];
    }>;
  }

  auditLog(
    query: PageQuery & Record<string, string | number | undefined> = {},
    options: CallOptions = {},
  ): Promise<Page<AuditEntry>> {
    return this.transport.json({
      method: 'GET',
      path: `/api/admin/audit-log?${new URLSearchParams(
        Object.entries(query).flatMap(([k, v]): [string, string][] =>
          v === undefined ? [] : [[k, String(v)]],
        ),
      ).toString()}`,
      credential: 'admin',
      signal: options.signal,
      headers: options.headers,
    });
  }
}
