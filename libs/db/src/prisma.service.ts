import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { DB_MODULE_OPTIONS, type DbModuleOptions } from './db.constants.js';
import { PrismaClient } from './generated/prisma/client.js';
import { tenantScopeExtension } from './tenant-scope.js';

const TENANT_CLIENTS_KEPT = 1_000;

/** The one Prisma client of an app; other code reaches Postgres through it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  private readonly tenantClients = new Map<string, TenantPrisma>();

  constructor(@Inject(DB_MODULE_OPTIONS) options: DbModuleOptions) {
    super({
      adapter: new PrismaPg({
        connectionString: options.databaseUrl,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: options.acquireTimeoutMs ?? 5_000,
        // Connections opened for a burst stay for the next one (node-postgres closes them after
        // 10 s idle by default): opening one costs a PostgreSQL backend and its cold caches,
        // tens of ms of CPU on both sides, paid by every request of the next burst.
        idleTimeoutMillis: 300_000,
        statement_timeout: options.statementTimeoutMs ?? 30_000,
        // A transaction left open by a crashed request must not hold its locks for ever.
        idle_in_transaction_session_timeout: 60_000,
      }),
    });
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }

  /**
   * A client whose every model query stays within one tenant: reads, updates and deletes only
   * see the tenant's rows (whatever the caller's where says), creates are filed under it and
   * can only point at its parents. Tenant-facing code uses this; the bare client is for
   * platform code that acts across tenants (admin, workers, metering). Raw SQL is not scoped.
   */
  forTenant(tenantId: string): TenantPrisma {
    let client = this.tenantClients.get(tenantId);
    if (!client) {
      // Building an extended client costs about as much as a query: keep the recent ones.
      if (this.tenantClients.size >= TENANT_CLIENTS_KEPT) {
        this.tenantClients.delete(this.tenantClients.keys().next().value!);
      }
      client = scopedClient(this, tenantId);
      this.tenantClients.set(tenantId, client);
    }
    return client;
  }

  /** Readiness probe: resolves when Postgres answers a query, rejects otherwise. */
  async check(): Promise<void> {
    await this.$queryRaw`SELECT 1`;
  }
}

function scopedClient(client: PrismaClient, tenantId: string) {
  return client.$extends(tenantScopeExtension(tenantId));
}

/** A Prisma client scoped to one tenant (PrismaService.forTenant), transactions included. */
export type TenantPrisma = ReturnType<typeof scopedClient>;
