import { Injectable } from '@nestjs/common';
import { type AuditLog, Prisma, PrismaService } from '@maas/db';

export interface AuditEntry {
  actorType: 'user' | 'api-key' | 'system' | 'anonymous';
  actorId?: string | null;
  tenantId?: string | null;
  action: string;
  targetType: string;
  targetId?: string | null;
  ip?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  tenantId?: string;
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
  cursor?: string;
  limit: number;
}

export function auditView(row: AuditLog) {
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    actorType: row.actorType,
    actorId: row.actorId,
    tenantId: row.tenantId,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    ip: row.ip,
    requestId: row.requestId,
    details: row.details,
  };
}

/** The append-only audit log: rows are only ever inserted and read. */
@Injectable()
export class AuditService {
  constructor(private readonly prisma: PrismaService) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.prisma.auditLog.create({
      data: { ...entry, details: (entry.details ?? {}) as Prisma.InputJsonValue },
    });
  }

  /** Newest first; `nextCursor` is the id to continue below. */
  async list(query: AuditQuery) {
    const where: Prisma.AuditLogWhereInput = {
      tenantId: query.tenantId,
      actorId: query.actorId,
      action: query.action,
      targetType: query.targetType,
      targetId: query.targetId,
      at: query.from || query.to ? { gte: query.from, lt: query.to } : undefined,
      id: query.cursor ? { lt: BigInt(query.cursor) } : undefined,
    };
    const rows = await this.prisma.auditLog.findMany({
      where,
      orderBy: { id: 'desc' },
      take: query.limit + 1,
    });
    const items = rows.slice(0, query.limit);
    return {
      items: items.map(auditView),
      nextCursor: rows.length > query.limit ? items[items.length - 1].id.toString() : null,
    };
  }
}
