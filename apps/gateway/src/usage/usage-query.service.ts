import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService } from '@maas/db';

export type UsageGroupBy = 'day' | 'model' | 'key' | 'tenant';

export interface UsageQuery {
  tenantId?: string;
  from: Date;
  to: Date;
  groupBy: UsageGroupBy;
}

interface Row {
  key: string;
  requests: bigint;
  rows: bigint;
  errors: bigint;
  latency: bigint;
}

const GROUP_EXPRESSIONS: Record<UsageGroupBy, Prisma.Sql> = {
  day: Prisma.sql`to_char(date_trunc('day', hour AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`,
  model: Prisma.sql`model_name`,
  key: Prisma.sql`api_key_id`,
  tenant: Prisma.sql`tenant_id::text`,
};

/** Reads flushed usage (hourly rows), always within one tenant unless an admin asks across. */
@Injectable()
export class UsageQueryService {
  constructor(private readonly prisma: PrismaService) {}

  async query(query: UsageQuery) {
    const group = GROUP_EXPRESSIONS[query.groupBy];
    const tenantFilter = query.tenantId
      ? Prisma.sql`AND tenant_id = ${query.tenantId}::uuid`
      : Prisma.empty;
    const rows = await this.prisma.$queryRaw<Row[]>`
      SELECT ${group} AS key, sum(requests) AS requests, sum(rows) AS rows,
             sum(errors) AS errors, sum(latency_ms_total) AS latency
      FROM usage_counters
      WHERE hour >= date_trunc('hour', ${query.from}::timestamptz) AND hour < ${query.to}::timestamptz
      ${tenantFilter}
      GROUP BY 1 ORDER BY 1`;
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
