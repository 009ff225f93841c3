import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService } from '@maas/db';

export type UsageGroupBy = 'day' | 'model' | 'key' | 'tenant';

export interface UsageQuery {
  tenantId?: string;
  from: Date;
  to: Date;
  groupBy: UsageGroupBy;
}

// What each grouping groups the hourly rows by; days are folded from hours below.
const GROUP_FIELDS = {
  day: 'hour',
  model: 'modelName',
  key: 'apiKeyId',
  tenant: 'tenantId',
} as const satisfies Record<UsageGroupBy, Prisma.UsageCounterScalarFieldEnum>;

interface Row {
  key: string;
  requests: bigint;
  rows: bigint;
  errors: bigint;
  latency: bigint;
}

const floorToHour = (at: Date) => new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);

/**
 * Reads flushed usage (hourly rows): a tenant's through its scoped client, across tenants
 * only when an admin asks without a tenant.
 */
@Injectable()
export class UsageQueryService {
  constructor(private readonly prisma: PrismaService) {}

  async query(query: UsageQuery) {
    const field = GROUP_FIELDS[query.groupBy];
    const args = {
      by: [field] as Prisma.UsageCounterScalarFieldEnum[],
      where: { hour: { gte: floorToHour(query.from), lt: query.to } },
      _sum: { requests: true, rows: true, errors: true, latencyMsTotal: true },
      orderBy: { [field]: 'asc' } as Prisma.UsageCounterOrderByWithAggregationInput,
    } as const;
    const groups = query.tenantId
      ? await this.prisma.forTenant(query.tenantId).usageCounter.groupBy(args)
      : await this.prisma.usageCounter.groupBy(args);
    const byKey = new Map<string, Row>();
    for (const group of groups) {
      const value = group[field];
      const key = value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
      const row = byKey.get(key) ?? { key, requests: 0n, rows: 0n, errors: 0n, latency: 0n };
      row.requests += group._sum.requests ?? 0n;
      row.rows += group._sum.rows ?? 0n;
      row.errors += group._sum.errors ?? 0n;
      row.latency += group._sum.latencyMsTotal ?? 0n;
      byKey.set(key, row);
    }
    const rows = [...byKey.values()];
    const items = rows.map((row) => {
      const requests = Number(row.requests);
      return {
        key: row.key,
        requests,
        rows: Number(row.rows),
        errors: Number(row.errors),
        avgLatencyMs: requests ? Math.round((Number(row.latency) / requests) * 100) / 100 : 0,
      };
    });
    const totals = items.reduce(
      (sum, item) => ({
        requests: sum.requests + item.requests,
        rows: sum.rows + item.rows,
        errors: sum.errors + item.errors,
      }),
      { requests: 0, rows: 0, errors: 0 },
    );
    return { from: query.from.toISOString(), to: query.to.toISOString(), totals, items };
  }
}
