import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { DomainError } from '@maas/app-runtime';
import { type Prisma, PrismaService, type TrainingJob } from '@maas/db';
import {
  TRAINING_JOB_DEFAULTS,
  TRAINING_QUEUE,
  type TrainJobData,
  TrainingJobName,
} from '@maas/jobs';
import { assertValidModelName, ModelVersionsService } from '@maas/model-registry';
import {
  type ColumnSummary,
  OPTIMIZE_ALGORITHM,
  type OptimizeJobSpec,
  type OptimizeRequest,
  planTraining,
  type TrainingRequest,
} from '@maas/training';
import { DatasetsService } from '../datasets/datasets.service.js';
import {
  ACTIVE_TRAINING_STATUSES,
  TrainingQuotaService,
} from '../quotas/training-quota.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const TRAINING_JOB_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
] as const satisfies readonly TrainingJob['status'][];
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;
// How long a new job may go without a BullMQ job before it counts as lost (see reclaimLostJobs).
const LOST_JOB_GRACE_MS = 60_000;

export interface TrainingJobView {
  id: string;
  status: string;
  /** null for an optimisation job of an uploaded version */
  datasetId: string | null;
  modelName: string;
  algorithm: string;
  task: string;
  target: string;
  features: string[];
  hyperparameters: unknown;
  progress: unknown;
  metrics: unknown;
  backend: string | null;
  modelVersion: { model: string; version: number } | null;
  error?: string;
  attempts: number;
  trainingSeconds: number;
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

type JobWithVersion = TrainingJob & { version?: { number: number } | null };

export function trainingJobView(job: JobWithVersion): TrainingJobView {
  return {
    id: job.id,
    status: job.status,
    datasetId: job.datasetId,
    modelName: job.modelName,
    algorithm: job.algorithm,
    task: job.task,
    target: job.target,
    features: job.features,
    hyperparameters: job.hyperparameters,
    progress: job.progress ?? null,
    metrics: job.metrics ?? null,
    backend: job.backend,
    modelVersion: job.version ? { model: job.modelName, version: job.version.number } : null,
    ...(job.error && { error: job.error }),
    attempts: job.attempts,
    trainingSeconds: job.trainingSeconds,
    cancelRequested: job.cancelRequestedAt !== null,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/** A job as the admin dashboard lists it: which tenant it belongs to, no training inputs. */
export interface AdminTrainingJobView {
  id: string;
  tenantId: string;
  tenantName: string;
  modelName: string;
  algorithm: string;
  task: string;
  status: string;
  progress: unknown;
  backend: string | null;
  error: string | null;
  attempts: number;
  trainingSeconds: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

function adminTrainingJobView(
  job: TrainingJob & { tenant: { name: string } },
): AdminTrainingJobView {
  return {
    id: job.id,
    tenantId: job.tenantId,
    tenantName: job.tenant.name,
    modelName: job.modelName,
    algorithm: job.algorithm,
    task: job.task,
    status: job.status,
    progress: job.progress,
    backend: job.backend,
    error: job.error,
    attempts: job.attempts,
    trainingSeconds: job.trainingSeconds,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

function jobNotFound(id: string): DomainError {
  return new DomainError('NOT_FOUND', `training job '${id}' not found`);
}

/**
 * Training jobs as the gateway sees them: validated against the dataset before they are
 * queued, then read back from Postgres (the trainer writes status, progress and events).
 */
@Injectable()
export class TrainingJobsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly datasets: DatasetsService,
    private readonly quota: TrainingQuotaService,
    private readonly versions: ModelVersionsService,
    @InjectQueue(TRAINING_QUEUE) private readonly queue: Queue,
  ) {}

  async create(
    tenantId: string,
    request: TrainingRequest,
    meta: { createdBy: string; requestId: string },
  ): Promise<TrainingJobView> {
    assertValidModelName(request.modelName);
    const dataset = await this.datasets.get(tenantId, request.datasetId);
    const plan = planTraining(request, dataset.columns as unknown as ColumnSummary[]);
    return this.admitAndQueue(
      tenantId,
      {
        datasetId: dataset.id,
        modelName: request.modelName,
        algorithm: plan.algorithm,
        task: plan.task,
        target: plan.target,
        features: plan.features,
        hyperparameters: plan.hyperparameters as unknown as Prisma.InputJsonValue,
      },
      meta,
    );
  }

  /**
   * An optimisation job (algorithm `optimize`): a new version of `modelName` made from version
   * `number` by the trainer (pruning, int8 or fp16), with a report of size, latency and
   * accuracy. Queued and counted like a training job; only ready ONNX versions qualify.
   */
  async createOptimization(
    tenantId: string,
    modelName: string,
    number: number,
    request: OptimizeRequest,
    meta: { createdBy: string; requestId: string },
  ): Promise<TrainingJobView> {
    const source = await this.versions.getVersion(tenantId, modelName, number);
    if (source.status !== 'ready') {
      throw new DomainError(
        'FAILED_PRECONDITION',
        `version ${number} of model '${modelName}' is ${source.status}; only a ready version can be optimised`,
      );
    }
    if (source.format !== 'onnx') {
      throw new DomainError(
        'INVALID_MODEL',
        `version ${number} of model '${modelName}' is a ${source.format} model; only ONNX versions can be optimised`,
      );
    }
    const trained = source.trainingJobId
      ? await this.db(tenantId).trainingJob.findUnique({ where: { id: source.trainingJobId } })
      : null;
    const spec: OptimizeJobSpec = { ...request, source: { version: number, versionId: source.id } };
    return this.admitAndQueue(
      tenantId,
      {
        ...(trained?.datasetId && { datasetId: trained.datasetId }),
        modelName,
        algorithm: OPTIMIZE_ALGORITHM,
        task: trained?.task ?? 'unknown',
        target: trained?.target ?? '',
        features: trained?.features ?? [],
        hyperparameters: spec as unknown as Prisma.InputJsonValue,
      },
      meta,
    );
  }

  /**
   * Inserts a queued job if the tenant's training quota admits it (the check and the insert are
   * one transaction: concurrent creates cannot overshoot), then hands it to the trainers.
   */
  private async admitAndQueue(
    tenantId: string,
    job: Pick<
      Prisma.TrainingJobUncheckedCreateInput,
      'datasetId' | 'modelName' | 'algorithm' | 'task' | 'target' | 'features' | 'hyperparameters'
    >,
    meta: { createdBy: string; requestId: string },
  ): Promise<TrainingJobView> {
    const created = await this.quota.admit(
      tenantId,
      (tx) =>
        tx.trainingJob.create({
          data: {
            tenantId,
            ...job,
            status: 'queued',
            requestId: meta.requestId,
            createdBy: meta.createdBy,
            events: { create: { type: 'state', data: { status: 'queued' } } },
          },
        }),
      { reclaimLostJobs: () => this.reclaimLostJobs(tenantId) },
    );
    return this.enqueue(created, meta.requestId);
  }

  /** Hands a new job to the trainers; a queue that cannot take it fails the job (503). */
  private async enqueue(job: TrainingJob, requestId: string): Promise<TrainingJobView> {
    const data: TrainJobData = { trainingJobId: job.id, tenantId: job.tenantId, requestId };
    try {
      // The row id is the BullMQ job id: a repeated add is a no-op, and cancel can find it.
      await this.queue.add(TrainingJobName.Train, data, {
        ...TRAINING_JOB_DEFAULTS,
        jobId: job.id,
      });
    } catch (error) {
      // Failed is terminal, so the job gives its concurrent-jobs slot back.
      await this.db(job.tenantId).trainingJob.update({
        where: { id: job.id },
        data: { status: 'failed', error: 'could not be queued', finishedAt: new Date() },
      });
      throw new DomainError(
        'UNAVAILABLE',
        `training queue unavailable: ${(error as Error).message}`,
      );
    }
    return trainingJobView(job);
  }

  /**
   * Jobs that hold a concurrent-jobs slot but will never finish, marked failed so the slot
   * comes back: the gateway died between the insert and the enqueue (no BullMQ job), or BullMQ
   * gave up on a job whose trainers kept dying (failed there, never recorded here). Only jobs
   * older than a grace period, so an enqueue still in flight on another gateway is left alone.
   */
  async reclaimLostJobs(tenantId: string): Promise<number> {
    const db = this.db(tenantId);
    const candidates = await db.trainingJob.findMany({
      where: {
        status: { in: [...ACTIVE_TRAINING_STATUSES] },
        createdAt: { lt: new Date(Date.now() - LOST_JOB_GRACE_MS) },
      },
      select: { id: true, status: true },
    });
    let reclaimed = 0;
    for (const job of candidates) {
      // Queue unreachable: nothing is known lost, so nothing is reclaimed.
      const state = await this.queue.getJobState(job.id).catch(() => 'unreachable');
      if (state !== 'unknown' && state !== 'failed' && state !== 'completed') continue;
      const error = 'lost by the training queue';
      const { count } = await db.trainingJob.updateMany({
        where: { id: job.id, status: job.status },
        data: { status: 'failed', error, finishedAt: new Date() },
      });
      if (count === 0) continue;
      await db.trainingJobEvent.create({
        data: { jobId: job.id, type: 'state', data: { status: 'failed', error } },
      });
      reclaimed++;
    }
    return reclaimed;
  }

  async find(tenantId: string, id: string): Promise<JobWithVersion> {
    if (!UUID.test(id)) throw jobNotFound(id);
    const db = this.db(tenantId);
    const job = await db.trainingJob.findUnique({ where: { id } });
    if (!job) throw jobNotFound(id);
    const version = await db.modelVersion.findUnique({
      where: { trainingJobId: id },
      select: { number: true },
    });
    return { ...job, version };
  }

  async get(tenantId: string, id: string): Promise<TrainingJobView> {
    return trainingJobView(await this.find(tenantId, id));
  }

  async list(
    tenantId: string,
    page: { cursor?: string; limit: number; status?: string },
  ): Promise<{ items: TrainingJobView[]; nextCursor: string | null }> {
    const cursor = page.cursor && UUID.test(page.cursor) ? page.cursor : undefined;
    const db = this.db(tenantId);
    const rows = await db.trainingJob.findMany({
      where: page.status ? { status: page.status as TrainingJob['status'] } : {},
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: page.limit + 1,
      ...(cursor && { cursor: { id: cursor }, skip: 1 }),
    });
    const items = rows.slice(0, page.limit);
    const versions = await db.modelVersion.findMany({
      where: { trainingJobId: { in: items.map((j) => j.id) } },
      select: { number: true, trainingJobId: true },
    });
    const byJob = new Map(versions.map((v) => [v.trainingJobId, v]));
    return {
      items: items.map((job) => trainingJobView({ ...job, version: byJob.get(job.id) ?? null })),
      nextCursor: rows.length > page.limit ? items[items.length - 1].id : null,
    };
  }

  /**
   * Jobs of every tenant (or of one), newest first, for platform admins: deliberately the
   * unscoped client, since this read spans tenants.
   */
  async listAcrossTenants(page: {
    tenantId?: string;
    status?: TrainingJob['status'];
    cursor?: string;
    limit: number;
  }): Promise<{ items: AdminTrainingJobView[]; nextCursor: string | null }> {
    const rows = await this.prisma.trainingJob.findMany({
      where: { tenantId: page.tenantId, status: page.status },
      include: { tenant: { select: { name: true } } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      cursor: page.cursor ? { id: page.cursor } : undefined,
      skip: page.cursor ? 1 : 0,
      take: page.limit + 1,
    });
    const items = rows.slice(0, page.limit);
    return {
      items: items.map(adminTrainingJobView),
      nextCursor: rows.length > page.limit ? items[items.length - 1].id : null,
    };
  }

  /**
   * A queued job is cancelled at once (and leaves the queue); a running one is flagged and
   * the trainer stops it within a few seconds. A finished job is answered as it is.
   */
  async cancel(tenantId: string, id: string): Promise<TrainingJobView> {
    const job = await this.find(tenantId, id);
    const db = this.db(tenantId);
    const now = new Date();
    if (job.status === 'queued') {
      const cancelled = await db.trainingJob.updateMany({
        where: { id, status: 'queued' },
        data: { status: 'cancelled', cancelRequestedAt: now, finishedAt: now },
      });
      if (cancelled.count === 1) {
        await db.trainingJobEvent.create({
          data: { jobId: id, type: 'state', data: { status: 'cancelled' } },
        });
        // An active (locked) job cannot be removed; the trainer sees the status and stops.
        await this.queue.remove(id).catch(() => undefined);
        return this.get(tenantId, id);
      }
    }
    await db.trainingJob.updateMany({
      where: { id, status: { in: [...ACTIVE_TRAINING_STATUSES] }, cancelRequestedAt: null },
      data: { cancelRequestedAt: now },
    });
    return this.get(tenantId, id);
  }

  /** The tenant a job belongs to, for the admin's actions on any tenant's job. */
  async tenantOfJob(id: string): Promise<string> {
    if (!UUID.test(id)) throw jobNotFound(id);
    const job = await this.prisma.trainingJob.findUnique({
      where: { id },
      select: { tenantId: true },
    });
    if (!job) throw jobNotFound(id);
    return job.tenantId;
  }

  /**
   * A failed or cancelled job run again, as a new job with the same spec (counted against the
   * tenant's training quota like any other); the old one stays as it ended.
   */
  async retry(
    tenantId: string,
    id: string,
    meta: { createdBy: string; requestId: string },
  ): Promise<TrainingJobView> {
    const job = await this.find(tenantId, id);
    if (job.status !== 'failed' && job.status !== 'cancelled') {
      throw new DomainError(
        'FAILED_PRECONDITION',
        `training job '${id}' is ${job.status}; only a failed or cancelled job can be retried`,
      );
    }
    return this.admitAndQueue(
      tenantId,
      {
        ...(job.datasetId && { datasetId: job.datasetId }),
        modelName: job.modelName,
        algorithm: job.algorithm,
        task: job.task,
        target: job.target,
        features: job.features,
        hyperparameters: job.hyperparameters as Prisma.InputJsonValue,
      },
      meta,
    );
  }

  async eventsAfter(
    tenantId: string,
    jobId: string,
    afterId: bigint,
  ): Promise<{ id: bigint; type: string; data: unknown; at: Date }[]> {
    return this.db(tenantId).trainingJobEvent.findMany({
      where: { jobId, id: { gt: afterId } },
      orderBy: { id: 'asc' },
      take: 500,
    });
  }

  /** Every query of this service goes through the tenant's scoped client. */
  private db(tenantId: string) {
    return this.prisma.forTenant(tenantId);
  }
}
