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
import { assertValidModelName } from '@maas/model-registry';
import { type ColumnSummary, planTraining, type TrainingRequest } from '@maas/training';
import { DatasetsService } from '../datasets/datasets.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;

export interface TrainingJobView {
  id: string;
  status: string;
  datasetId: string;
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
    const job = await this.prisma.trainingJob.create({
      data: {
        tenantId,
        datasetId: dataset.id,
        modelName: request.modelName,
        algorithm: plan.algorithm,
        task: plan.task,
        target: plan.target,
        features: plan.features,
        hyperparameters: plan.hyperparameters as unknown as Prisma.InputJsonValue,
        status: 'queued',
        requestId: meta.requestId,
        createdBy: meta.createdBy,
        events: { create: { type: 'state', data: { status: 'queued' } } },
      },
    });
    const data: TrainJobData = { trainingJobId: job.id, tenantId, requestId: meta.requestId };
    try {
      // The row id is the BullMQ job id: a repeated add is a no-op, and cancel can find it.
      await this.queue.add(TrainingJobName.Train, data, {
        ...TRAINING_JOB_DEFAULTS,
        jobId: job.id,
      });
    } catch (error) {
      await this.prisma.trainingJob.update({
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

  async find(tenantId: string, id: string): Promise<JobWithVersion> {
    if (!UUID.test(id)) throw jobNotFound(id);
    const job = await this.prisma.trainingJob.findFirst({ where: { id, tenantId } });
    if (!job) throw jobNotFound(id);
    const version = await this.prisma.modelVersion.findUnique({
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
    const rows = await this.prisma.trainingJob.findMany({
      where: {
        tenantId,
        ...(page.status && { status: page.status as TrainingJob['status'] }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: page.limit + 1,
      ...(cursor && { cursor: { id: cursor }, skip: 1 }),
    });
    const items = rows.slice(0, page.limit);
    const versions = await this.prisma.modelVersion.findMany({
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
   * A queued job is cancelled at once (and leaves the queue); a running one is flagged and
   * the trainer stops it within a few seconds. A finished job is answered as it is.
   */
  async cancel(tenantId: string, id: string): Promise<TrainingJobView> {
    const job = await this.find(tenantId, id);
    const now = new Date();
    if (job.status === 'queued') {
      const cancelled = await this.prisma.trainingJob.updateMany({
        where: { id, tenantId, status: 'queued' },
        data: { status: 'cancelled', cancelRequestedAt: now, finishedAt: now },
      });
      if (cancelled.count === 1) {
        await this.prisma.trainingJobEvent.create({
          data: { jobId: id, type: 'state', data: { status: 'cancelled' } },
        });
        // An active (locked) job cannot be removed; the trainer sees the status and stops.
        await this.queue.remove(id).catch(() => undefined);
        return this.get(tenantId, id);
      }
    }
    await this.prisma.trainingJob.updateMany({
      where: { id, tenantId, status: { in: ['queued', 'running'] }, cancelRequestedAt: null },
      data: { cancelRequestedAt: now },
    });
    return this.get(tenantId, id);
  }

  async eventsAfter(
    jobId: string,
    afterId: bigint,
  ): Promise<{ id: bigint; type: string; data: unknown; at: Date }[]> {
    return this.prisma.trainingJobEvent.findMany({
      where: { jobId, id: { gt: afterId } },
      orderBy: { id: 'asc' },
      take: 500,
    });
  }
}
