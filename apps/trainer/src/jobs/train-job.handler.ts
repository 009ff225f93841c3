import { availableParallelism } from 'node:os';
import { Worker as Thread } from 'node:worker_threads';
import { Inject, Injectable } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { APP_LOGGER, dependencyUnavailableOf, type Logger } from '@maas/app-runtime';
import { effectiveLimits } from '@maas/config';
import { type Prisma, PrismaService, type TrainingJob } from '@maas/db';
import type { TrainJobData } from '@maas/jobs';
import {
  ArtifactReader,
  ModelsService,
  OBJECT_STORE,
  type ObjectStore,
  VersionArtifactsService,
  VersionUploadsService,
} from '@maas/model-registry';
import { chooseTfjsBackend } from '@maas/tfjs-runtime';
import {
  OPTIMIZE_ALGORITHM,
  chooseMlpEngine,
  type Hyperparameters,
  mlpBackendName,
  type TrainingPlan,
} from '@maas/training';
import { TRAINER_CONFIG, type TrainerConfig } from '../config/trainer-config.js';
import type { TrainingThreadInput, TrainingThreadMessage } from './training-thread.js';
import { VersionOptimizer } from './version-optimizer.js';

const MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;
const CANCEL_POLL_MS = 1_000;
/** How long a cancelled training thread may take to stop on its own before it is terminated. */
const STOP_GRACE_MS = 5_000;
const PROGRESS_MIN_INTERVAL_MS = 100;
/** Training time is charged to the job (and the tenant's month) this often while it runs. */
const CHARGE_INTERVAL_MS = 5_000;
/** Waits between tries to record a finished job's result while PostgreSQL is unreachable. */
const RECORD_RETRY_MS = [500, 1_000, 2_000, 5_000];

export interface TrainJobResult {
  status: TrainingJob['status'];
  version?: number;
}

type ThreadOutcome = Extract<TrainingThreadMessage, { type: 'done' }> | { type: 'cancelled' };
/**
 * A result to register; `completeMetrics` adds what can only be measured once the version exists
 * (an optimised version's latency on a worker), before the job is recorded as done.
 */
type Registrable = Extract<ThreadOutcome, { type: 'done' }> & {
  completeMetrics?: (versionId: string) => Promise<Record<string, unknown>>;
};

/** A bad dataset or spec: the job fails at once, without retries. */
class BadTrainingData extends UnrecoverableError {}

/**
 * Runs one `train` job: claims the row, trains in a worker thread (so this event loop keeps
 * renewing the BullMQ lock and writing progress), registers the ONNX as a new version of the
 * model, and records the outcome. Idempotent: a retry of a job whose version exists adopts it.
 */
@Injectable()
export class TrainJobHandler {
  /** Running training threads, each with its stop request (see stopThreads). */
  private readonly threads = new Map<Thread, () => Promise<void>>();
  /** Seconds of the running attempt already charged to its job, by job id. */
  private readonly charged = new Map<string, number>();
  private shuttingDown = false;

  constructor(
    private readonly prisma: PrismaService,
    private readonly models: ModelsService,
    private readonly uploads: VersionUploadsService,
    private readonly reader: ArtifactReader,
    private readonly versionArtifacts: VersionArtifactsService,
    private readonly optimizer: VersionOptimizer,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(TRAINER_CONFIG) private readonly config: TrainerConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
  ) {}

  async handle(job: Job<TrainJobData>): Promise<TrainJobResult> {
    try {
      return await this.attempt(job);
    } finally {
      this.charged.delete(job.data.trainingJobId);
    }
  }

  private async attempt(job: Job<TrainJobData>): Promise<TrainJobResult> {
    const id = job.data.trainingJobId;
    const row = await this.prisma.trainingJob.findUnique({ where: { id } });
    if (!row || row.tenantId !== job.data.tenantId) {
      throw new UnrecoverableError(`training job ${id} does not exist`);
    }
    if (row.status === 'succeeded' || row.status === 'failed' || row.status === 'cancelled') {
      return { status: row.status };
    }
    const started = Date.now();
    if (row.cancelRequestedAt) return this.finishCancelled(row, started);

    const adopted = await this.adoptRegisteredVersion(row, started);
    if (adopted) return adopted;

    const claimed = await this.prisma.trainingJob.updateMany({
      where: { id, status: { in: ['queued', 'running'] }, cancelRequestedAt: null },
      data: {
        status: 'running',
        startedAt: row.startedAt ?? new Date(),
        attempts: { increment: 1 },
        error: null,
        backend: row.algorithm === 'mlp' ? this.plannedMlpBackend() : null,
      },
    });
    if (claimed.count === 0) {
      const now = await this.prisma.trainingJob.findUniqueOrThrow({ where: { id } });
      if (now.cancelRequestedAt && now.status !== 'cancelled')
        return this.finishCancelled(now, started);
      return { status: now.status };
    }
    await this.event(id, 'state', {
      status: 'running',
      attempt: row.attempts + 1,
      trainer: process.pid,
    });
    this.logger.info({ trainingJobId: id, requestId: job.data.requestId }, 'training started');

    try {
      if (row.algorithm === OPTIMIZE_ALGORITHM) {
        const { onnx, report, completeReport } = await this.optimizer.optimize(row, (stage) =>
          this.stage(job, row, stage),
        );
        const done = { type: 'done', onnx, metrics: report, backend: 'onnxruntime-node' } as const;
        return await this.recordResult(
          row,
          { ...done, onnxMaxAbsDiff: 0, completeMetrics: completeReport },
          started,
        );
      }
      const budgetSeconds = await this.timeBudgetSeconds(row);
      const csv = await this.readDataset(row);
      const plan: TrainingPlan = {
        algorithm: row.algorithm as TrainingPlan['algorithm'],
        task: row.task as TrainingPlan['task'],
        target: row.target,
        features: row.features,
        hyperparameters: row.hyperparameters as unknown as Hyperparameters,
      };
      const outcome = await this.runThread(
        job,
        row,
        {
          csv,
          plan,
          backend: this.config.TFJS_BACKEND,
          engine: this.config.TRAINER_MLP_ENGINE,
          // Concurrent jobs share the cores rather than each spinning a thread on every one.
          threads: Math.max(
            1,
            Math.floor(availableParallelism() / this.config.TRAINER_CONCURRENCY),
          ),
        },
        { started, budgetSeconds },
      );
      if (outcome.type === 'cancelled') return this.finishCancelled(row, started);
      return await this.recordResult(row, outcome, started);
    } catch (error) {
      await this.recordFailure(job, row, error as Error, started);
      throw error;
    }
  }

  /** An optimisation job's progress: the stage it has reached, like training's epochs. */
  private async stage(job: Job<TrainJobData>, row: TrainingJob, stage: string): Promise<void> {
    const data = { stage };
    await this.prisma.trainingJob.update({ where: { id: row.id }, data: { progress: data } });
    await this.event(row.id, 'progress', data);
    await job.updateProgress(data);
  }

  private async readDataset(row: TrainingJob): Promise<Uint8Array> {
    if (!row.datasetId) throw new BadTrainingData('the job names no dataset');
    const dataset = await this.prisma.dataset.findUnique({ where: { id: row.datasetId } });
    if (!dataset || dataset.deletedAt) {
      throw new BadTrainingData(`dataset ${row.datasetId} was deleted`);
    }
    return this.reader.read({
      tenantId: row.tenantId,
      artifactKey: dataset.storageKey,
      sha256: dataset.sha256,
      encrypted: dataset.encrypted,
    });
  }

  /** The backend the job will record: the TF.js one, or ONNX Runtime when it trains instead. */
  private plannedMlpBackend(): string {
    const tfjs = chooseTfjsBackend(this.config.TFJS_BACKEND);
    return mlpBackendName(tfjs, chooseMlpEngine(tfjs));
  }

  /**
   * Seconds this attempt may train: the per-job limit, or less when the tenant's monthly
   * training minutes have less left (none left: the job fails at once).
   */
  private async timeBudgetSeconds(row: TrainingJob): Promise<number> {
    const tenant = await this.prisma.tenant.findUniqueOrThrow({
      where: { id: row.tenantId },
      include: { quota: true },
    });
    const now = new Date();
    const used = await this.prisma.trainingJob.aggregate({
      where: {
        tenantId: row.tenantId,
        createdAt: { gte: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)) },
      },
      _sum: { trainingSeconds: true },
    });
    const monthly = effectiveLimits(tenant.plan, tenant.quota).monthlyTrainingMinutes * 60;
    const left = monthly - (used._sum.trainingSeconds ?? 0);
    if (left <= 0) {
      throw new BadTrainingData(
        `the tenant's monthly training minutes are used up (${monthly / 60} minutes)`,
      );
    }
    // The per-job limit counts every attempt's seconds, a killed one's included.
    const perJob = this.config.TRAINER_MAX_JOB_SECONDS - row.trainingSeconds;
    if (perJob <= 0) {
      throw new BadTrainingData(
        `the job used its ${this.config.TRAINER_MAX_JOB_SECONDS} s of training time`,
      );
    }
    return Math.min(perJob, left);
  }

  /** Charges the attempt's training seconds not charged yet to its job (as they are used). */
  private async chargeTime(jobId: string, started: number): Promise<void> {
    const seconds = this.unchargedSeconds(jobId, started);
    if (seconds === 0) return;
    await this.prisma.trainingJob.update({
      where: { id: jobId },
      data: { trainingSeconds: { increment: seconds } },
    });
  }

  /** Trains in a worker thread; resolves 'cancelled' when a cancel request arrives. */
  private runThread(
    job: Job<TrainJobData>,
    row: TrainingJob,
    input: Omit<TrainingThreadInput, 'stop'>,
    clock: { started: number; budgetSeconds: number },
  ): Promise<ThreadOutcome> {
    return new Promise<ThreadOutcome>((resolve, reject) => {
      const stop = new Int32Array(new SharedArrayBuffer(4));
      const thread = new Thread(new URL('./training-thread.js', import.meta.url), {
        workerData: { ...input, stop } satisfies TrainingThreadInput,
      });
      // Asks the thread to stop (it checks between ONNX Runtime calls, which must not be cut
      // short: terminating inside one aborts this process); terminates it if it does not.
      const exited = new Promise<void>((done) => thread.once('exit', () => done()));
      const stopThread = () => {
        Atomics.store(stop, 0, 1);
        const force = setTimeout(() => void thread.terminate(), STOP_GRACE_MS);
        void exited.then(() => clearTimeout(force));
        return exited;
      };
      this.threads.set(thread, stopThread);
      void exited.then(() => this.threads.delete(thread));
      let settled = false;
      let writes = Promise.resolve();
      let lastProgressAt = 0;
      let pending: Record<string, number | string> | null = null;
      const writeProgress = (data: Record<string, number | string>) => {
        lastProgressAt = Date.now();
        pending = null;
        writes = writes
          .then(async () => {
            await this.prisma.trainingJob.update({
              where: { id: row.id },
              data: { progress: data as Prisma.InputJsonValue },
            });
            await this.event(row.id, 'progress', data);
            await job.updateProgress(data);
          })
          .catch((error: unknown) => this.logger.warn({ err: error }, 'progress not recorded'));
      };
      const settle = (action: () => void) => {
        // Stopped for shutdown: the job keeps its lock and is recovered by another trainer.
        if (settled || this.shuttingDown) return;
        settled = true;
        clearInterval(cancelPoll);
        if (pending) writeProgress(pending);
        void writes.then(action);
      };
      let lastCharge = Date.now();
      const cancelPoll = setInterval(() => {
        if ((Date.now() - clock.started) / 1000 >= clock.budgetSeconds && !settled) {
          void stopThread();
          settle(() =>
            reject(
              new BadTrainingData(
                `training stopped after ${clock.budgetSeconds} s: the limit of one job or the tenant's monthly training minutes left`,
              ),
            ),
          );
          return;
        }
        if (Date.now() - lastCharge >= CHARGE_INTERVAL_MS) {
          lastCharge = Date.now();
          writes = writes
            .then(() => this.chargeTime(row.id, clock.started))
            .catch((error: unknown) => this.logger.warn({ err: error }, 'time not charged'));
        }
        this.prisma.trainingJob
          .findUnique({ where: { id: row.id }, select: { cancelRequestedAt: true } })
          .then((current) => {
            if (current?.cancelRequestedAt && !settled) {
              void stopThread();
              settle(() => resolve({ type: 'cancelled' }));
            }
          })
          .catch(() => undefined);
      }, CANCEL_POLL_MS);
      thread.on('message', (message: TrainingThreadMessage) => {
        switch (message.type) {
          case 'progress':
            if (Date.now() - lastProgressAt >= PROGRESS_MIN_INTERVAL_MS)
              writeProgress(message.data);
            else pending = message.data;
            break;
          case 'log':
            writes = writes
              .then(() => this.event(row.id, 'log', { message: message.message }))
              .catch((error: unknown) => this.logger.warn({ err: error }, 'log not recorded'));
            break;
          case 'done':
            settle(() => resolve(message));
            void thread.terminate();
            break;
          case 'failed':
            settle(() =>
              reject(
                message.badData
                  ? new BadTrainingData(message.message)
                  : new Error(`training failed: ${message.message}`),
              ),
            );
            void thread.terminate();
            break;
        }
      });
      thread.on('error', (error) => settle(() => reject(error)));
      thread.on('exit', (code) => {
        settle(() => reject(new Error(`training thread exited with code ${code}`)));
      });
    });
  }

  /**
   * For shutdown with jobs still running: stops their threads between ONNX Runtime calls (so
   * the process exits cleanly) without recording anything; the jobs' locks run out and
   * stalled-job recovery hands them to another trainer.
   */
  async stopThreads(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all([...this.threads.values()].map((stop) => stop()));
  }

  /** An earlier attempt registered the version and died before recording it: finish it. */
  private async adoptRegisteredVersion(
    row: TrainingJob,
    started: number,
  ): Promise<TrainJobResult | null> {
    const version = await this.prisma.modelVersion.findUnique({ where: { trainingJobId: row.id } });
    if (!version) return null;
    if (version.status === 'ready') {
      await this.finishSucceeded(row, version.number, version.metrics, row.backend, started);
      return { status: 'succeeded', version: version.number };
    }
    // A registration cut off midway: clear it so this attempt registers afresh.
    await this.store.delete(version.artifactKey).catch(() => undefined);
    await this.prisma.modelVersion.delete({ where: { id: version.id } }).catch(() => undefined);
    return null;
  }

  /**
   * Registers the trained model and records success, retried while PostgreSQL is unreachable
   * (the model is trained: an outage must not turn the job into `failed` or train it again).
   * Each try first adopts what an earlier try registered, so the version exists once.
   */
  private async recordResult(
    row: TrainingJob,
    outcome: Registrable,
    started: number,
  ): Promise<TrainJobResult> {
    for (let tries = 0; ; tries++) {
      try {
        if (tries > 0) {
          const adopted = await this.adoptRegisteredVersion(row, started);
          if (adopted) return adopted;
        }
        return await this.register(row, outcome, started);
      } catch (error) {
        // Stopping for shutdown: the job is recovered (and retrained) by another trainer.
        if (dependencyUnavailableOf(error) !== 'database' || this.shuttingDown) throw error;
        const wait = RECORD_RETRY_MS[Math.min(tries, RECORD_RETRY_MS.length - 1)];
        this.logger.warn(
          { trainingJobId: row.id, err: error, retryInMs: wait },
          'result not recorded: PostgreSQL unreachable, retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private async register(
    row: TrainingJob,
    outcome: Registrable,
    started: number,
  ): Promise<TrainJobResult> {
    await this.modelFor(row);
    let version;
    try {
      version = await this.uploads.uploadVersion(row.tenantId, row.modelName, {
        format: 'onnx',
        body: Buffer.from(outcome.onnx),
        maxBytes: MAX_ARTIFACT_BYTES,
        createdBy: `training-job:${row.id}`,
        trainingJobId: row.id,
        metrics: outcome.metrics,
        tree: outcome.tree,
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'P2002') {
        // Another attempt registered it first (unique training_job_id).
        const existing = await this.adoptRegisteredVersion(row, started);
        if (existing) return existing;
      }
      if (
        code === 'RESOURCE_EXHAUSTED' ||
        code === 'INVALID_MODEL' ||
        code === 'PAYLOAD_TOO_LARGE'
      ) {
        throw new BadTrainingData(`registering the model failed: ${(error as Error).message}`);
      }
      throw error;
    }
    if (outcome.tfjs) await this.attachTfjsCopy(row, version.id, outcome.tfjs);
    let metrics = outcome.metrics;
    if (outcome.completeMetrics) {
      metrics = await outcome.completeMetrics(version.id);
      await this.prisma.modelVersion.update({
        where: { id: version.id },
        data: { metrics: metrics as Prisma.InputJsonValue },
      });
    }
    await this.finishSucceeded(row, version.number, metrics, outcome.backend, started);
    this.logger.info(
      { trainingJobId: row.id, model: row.modelName, version: version.number },
      'training succeeded',
    );
    return { status: 'succeeded', version: version.number };
  }

  /**
   * The TF.js copy is stored like every artifact (encrypted, sha256, counted in the quota). It
   * is an extra: when it does not fit the tenant's storage quota the version (already
   * registered and serving) stays and the job says so in its log.
   */
  private async attachTfjsCopy(
    row: TrainingJob,
    versionId: string,
    tfjs: NonNullable<Extract<ThreadOutcome, { type: 'done' }>['tfjs']>,
  ): Promise<void> {
    try {
      await this.versionArtifacts.attachTfjsCopy(row.tenantId, versionId, tfjs);
    } catch (error) {
      // The registry reports a full storage quota as PAYLOAD_TOO_LARGE (413).
      if ((error as { code?: string }).code !== 'PAYLOAD_TOO_LARGE') throw error;
      this.logger.warn(
        { trainingJobId: row.id, reason: (error as Error).message },
        'TF.js copy not stored: storage quota',
      );
    }
  }

  private async modelFor(row: TrainingJob) {
    try {
      return await this.models.getModel(row.tenantId, row.modelName);
    } catch (error) {
      if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
    }
    try {
      return await this.models.createModel(row.tenantId, {
        name: row.modelName,
        description: `trained by job ${row.id}`,
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ALREADY_EXISTS') return this.models.getModel(row.tenantId, row.modelName);
      if (code === 'RESOURCE_EXHAUSTED' || code === 'INVALID_ARGUMENT') {
        throw new BadTrainingData((error as Error).message);
      }
      throw error;
    }
  }

  /**
   * The attempt's whole seconds since `started` not yet charged to the job (marked charged by
   * this call). A trainer killed with -9 loses at most CHARGE_INTERVAL_MS of charging.
   */
  private unchargedSeconds(jobId: string, started: number): number {
    const elapsed = Math.max(0, Math.floor((Date.now() - started) / 1000));
    const charged = this.charged.get(jobId) ?? 0;
    this.charged.set(jobId, Math.max(elapsed, charged));
    return Math.max(0, elapsed - charged);
  }

  private async finishSucceeded(
    row: TrainingJob,
    version: number,
    metrics: unknown,
    backend: string | null,
    started: number,
  ): Promise<void> {
    await this.prisma.trainingJob.update({
      where: { id: row.id },
      data: {
        status: 'succeeded',
        metrics: (metrics ?? undefined) as Prisma.InputJsonValue | undefined,
        backend,
        finishedAt: new Date(),
        error: null,
        trainingSeconds: { increment: this.unchargedSeconds(row.id, started) },
      },
    });
    await this.event(row.id, 'state', {
      status: 'succeeded',
      modelVersion: { model: row.modelName, version },
    });
  }

  private async finishCancelled(row: TrainingJob, started: number): Promise<TrainJobResult> {
    await this.prisma.trainingJob.update({
      where: { id: row.id },
      data: {
        status: 'cancelled',
        finishedAt: new Date(),
        trainingSeconds: { increment: this.unchargedSeconds(row.id, started) },
      },
    });
    await this.event(row.id, 'state', { status: 'cancelled' });
    this.logger.info({ trainingJobId: row.id }, 'training cancelled');
    return { status: 'cancelled' };
  }

  private async recordFailure(
    job: Job<TrainJobData>,
    row: TrainingJob,
    error: Error,
    started: number,
  ): Promise<void> {
    const final =
      error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    this.logger.warn({ trainingJobId: row.id, err: error, final }, 'training attempt failed');
    try {
      // Only a running job: never overwrite an outcome another attempt recorded meanwhile.
      const { count } = await this.prisma.trainingJob.updateMany({
        where: { id: row.id, status: 'running' },
        data: {
          status: final ? 'failed' : 'queued',
          error: error.message,
          ...(final && { finishedAt: new Date() }),
          trainingSeconds: { increment: this.unchargedSeconds(row.id, started) },
        },
      });
      if (count === 0) return;
      await this.event(row.id, 'state', {
        status: final ? 'failed' : 'queued',
        error: error.message,
        ...(!final && { retrying: true }),
      });
    } catch (recordError) {
      this.logger.error({ err: recordError, trainingJobId: row.id }, 'failure not recorded');
    }
  }

  private async event(jobId: string, type: string, data: object): Promise<void> {
    await this.prisma.trainingJobEvent.create({
      data: { jobId, type, data: data as Prisma.InputJsonValue },
    });
  }
}
