import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { APP_LOGGER, type Logger, METRICS_REGISTRY } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import {
  BENCHMARK_QUEUE,
  BenchmarkJobName,
  type LatencyJobData,
  type LatencyJobResult,
  type LatencyMeasurement,
  latencyJobProblem,
} from '@maas/jobs';
import { generatedInputs, medianRunMs } from '@maas/model-registry';
import { Counter, type Registry } from 'prom-client';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import { ModelCacheService } from '../models/model-cache.service.js';
import { WorkerHeartbeatService } from '../models/worker-heartbeat.service.js';

/** The seed of the generated rows: the same rows for every version of one job. */
const SEED = 29;

/**
 * Measures how fast versions run on this worker, as it serves them: loaded through the model
 * cache (its memory budget and per-tenant load slots), run on the tenant's model thread with the
 * serving session options, timed from the event loop (the thread hand-off included). The
 * trainer asks for it on the benchmark queue for an optimised version's report (before/after).
 * One job at a time, bounded by LATENCY_JOB_LIMITS: it runs beside tenants' requests.
 */
@Injectable()
export class LatencyBenchmarkService implements OnApplicationBootstrap, OnModuleDestroy {
  private connection?: Redis;
  private worker?: Worker;
  private readonly jobs: Counter<'result'>;

  constructor(
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    private readonly prisma: PrismaService,
    private readonly cache: ModelCacheService,
    private readonly heartbeat: WorkerHeartbeatService,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.jobs = new Counter({
      name: 'maas_latency_benchmarks_total',
      help: 'Latency benchmark jobs (optimised versions’ reports) run on this worker, by result',
      labelNames: ['result'],
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    this.connection = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    this.worker = new Worker(BENCHMARK_QUEUE, (job) => this.process(job), {
      connection: this.connection,
      prefix: `${this.config.REDIS_PREFIX}:bull`,
      concurrency: 1,
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'benchmark worker error'));
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker?.close(true);
    this.connection?.disconnect();
  }

  private async process(job: Job): Promise<LatencyJobResult> {
    if (job.name !== BenchmarkJobName.Latency) {
      throw new UnrecoverableError(`unknown job type '${job.name}'`);
    }
    try {
      const result = await this.measure(job.data as LatencyJobData);
      this.jobs.inc({ result: 'ok' });
      return result;
    } catch (error) {
      this.jobs.inc({ result: 'error' });
      throw error;
    }
  }

  private async measure(data: LatencyJobData): Promise<LatencyJobResult> {
    const problem = latencyJobProblem(data);
    if (problem) throw new UnrecoverableError(`latency job refused: ${problem}`);
    const measurements: LatencyMeasurement[] = [];
    const backends = new Set<string>();
    for (const versionId of data.versionIds) {
      const version = await this.prisma.modelVersion.findFirst({
        where: { id: versionId, tenantId: data.tenantId, status: 'ready' },
      });
      if (!version) throw new UnrecoverableError(`version ${versionId} is not a ready version`);
      const loaded = await this.cache.acquire(version);
      try {
        backends.add(loaded.runtime.backend);
        const outputs = loaded.outputs.map((output) => output.name);
        for (const batch of data.batches) {
          // A fixed dim 0 takes its own row count only.
          if (batch > 1 && !loaded.batchable) continue;
          const inputs = generatedInputs(loaded.inputs, batch, SEED);
          const medianMs = await medianRunMs(() => loaded.runtime.run(inputs, outputs), data);
          measurements.push({ versionId, batch, medianMs, runs: data.runs });
        }
      } finally {
        this.cache.release(loaded);
      }
    }
    this.logger.info(
      { tenantId: data.tenantId, versions: data.versionIds.length, measurements },
      'latency measured',
    );
    return { workerId: this.heartbeat.id, backend: [...backends].join(','), measurements };
  }
}
