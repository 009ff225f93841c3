import { Injectable } from '@nestjs/common';
import { effectiveLimits } from '@maas/config';
import { PrismaService, type TenantPrisma } from '@maas/db';
import { secondsUntilNextMonth, startOfMonth } from './rate-limiter.service.js';
import { LimitExceededError } from './request-limits.service.js';

/** Jobs that hold one of the tenant's concurrent-training-job slots. */
export const ACTIVE_TRAINING_STATUSES = ['queued', 'running'] as const;

type TenantTransaction = Parameters<Parameters<TenantPrisma['$transaction']>[0]>[0];

export interface TrainingAdmission {
  /**
   * Called once when the tenant is at its concurrent-jobs limit, before refusing: marks jobs
   * that will never finish (lost by the queue) as failed and says how many it freed.
   */
  reclaimLostJobs?: () => Promise<number>;
}

/**
 * Concurrent training jobs and monthly training minutes, checked and taken atomically.
 *
 * A slot is a job row in `queued` or `running`: the check and the insert of the new row run in
 * one transaction that holds the tenant's row lock, so creates on every gateway are admitted
 * one at a time and never exceed the limit. Nothing has to be released: when the trainer (or a
 * cancel) moves a job to succeeded/failed/cancelled, it stops counting, and a crash cannot leak
 * a slot that Postgres does not show. The one way to hold a slot forever is a job that never
 * finishes; `reclaimLostJobs` frees those when the limit is reached.
 */
@Injectable()
export class TrainingQuotaService {
  constructor(private readonly prisma: PrismaService) {}

  /** Runs `insert` (which creates the job row) if the tenant may start one more job. */
  async admit<T>(
    tenantId: string,
    insert: (tx: TenantTransaction) => Promise<T>,
    options: TrainingAdmission = {},
  ): Promise<T> {
    try {
      return await this.admitOnce(tenantId, insert);
    } catch (error) {
      const atLimit =
        error instanceof LimitExceededError &&
        error.problemType === 'concurrent-training-jobs-exceeded';
      if (!atLimit || !options.reclaimLostJobs || (await options.reclaimLostJobs()) === 0) {
        throw error;
      }
      return this.admitOnce(tenantId, insert);
    }
  }

  private admitOnce<T>(tenantId: string, insert: (tx: TenantTransaction) => Promise<T>) {
    return this.prisma.forTenant(tenantId).$transaction(async (tx) => {
      // FOR NO KEY UPDATE: one admission at a time per tenant, while inserts that only
      // reference the tenant (models, datasets, usage) are not held up.
      await tx.$queryRaw`SELECT 1 FROM tenants WHERE id = ${tenantId}::uuid FOR NO KEY UPDATE`;
      // Read under the lock, not from a cache: a quota change counts from the next create.
      const tenant = await tx.tenant.findUniqueOrThrow({
        where: { id: tenantId },
        include: { quota: true },
      });
      const limits = effectiveLimits(tenant.plan, tenant.quota);
      const [active, used] = await Promise.all([
        tx.trainingJob.count({ where: { status: { in: [...ACTIVE_TRAINING_STATUSES] } } }),
        tx.trainingJob.aggregate({
          where: { createdAt: { gte: startOfMonth() } },
          _sum: { trainingSeconds: true },
        }),
      ]);
      if ((used._sum.trainingSeconds ?? 0) >= limits.monthlyTrainingMinutes * 60) {
        throw new LimitExceededError(
          `monthly training minutes quota exhausted (${limits.monthlyTrainingMinutes} minutes)`,
          'monthly-training-quota-exceeded',
          secondsUntilNextMonth(),
        );
      }
      if (active >= limits.concurrentTrainingJobs) {
        throw new LimitExceededError(
          `the tenant already runs ${active} training jobs (limit ${limits.concurrentTrainingJobs})`,
          'concurrent-training-jobs-exceeded',
        );
      }
      return insert(tx);
    });
  }
}
