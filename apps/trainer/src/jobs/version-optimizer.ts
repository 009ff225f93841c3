import { Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { PrismaService, type TrainingJob } from '@maas/db';
import { ModelOptimizationError } from '@maas/onnx';
import {
  ArtifactReader,
  generatedFeeds,
  medianRunMs,
  measureOutputAgreement,
  type OutputAgreement,
  ortSessionOptions,
} from '@maas/model-registry';
import {
  featureLayoutOf,
  heldOutRows,
  labelAccuracy,
  onnxFeeds,
  type OptimizeJobSpec,
  optimizeOnnx,
} from '@maas/training';
import * as ort from 'onnxruntime-node';
import { WorkerLatencyClient } from './worker-latency.client.js';

/** An optimisation the platform refuses: the job fails at once, nothing is registered. */
export class OptimizationRefused extends UnrecoverableError {}

/** Timed runs per batch size (after warm-up runs); the median is reported. */
const TIMED_RUNS = 30;
const WARM_UP_RUNS = 5;
/** Rows per run the latency is reported at. */
const BATCHES = [1, 32] as const;
/** Generated rows the source and the result are compared on. */
const AGREEMENT_SAMPLES = 1000;

/**
 * Sessions as a worker serves with one intra-op thread and no spinning: latency per call at a
 * given batch size, comparable between the source and the result on the same machine.
 */
const TIMING_SESSION = ortSessionOptions({
  intraOpThreads: 1,
  interOpThreads: 1,
  allowSpinning: false,
});

interface Accuracy {
  method: 'held-out rows' | 'training rows' | 'evaluation inputs' | 'generated inputs';
  rows: number;
  /** classification accuracy of the source and the result, where the rows have targets */
  before?: number;
  after?: number;
  /** top-1 agreement of the result with the source (same rows), for classifiers */
  agreement?: number;
  /** points lost: accuracy before − after, else 100 × (1 − agreement) */
  drop: number;
}

export interface OptimizationOutcome {
  onnx: Uint8Array;
  report: Record<string, unknown>;
  /** The report with its latency part, once the result is registered as `versionId`. */
  completeReport: (versionId: string) => Promise<Record<string, unknown>>;
}

/**
 * Runs one optimisation job (algorithm `optimize`): reads the source version, applies the
 * transforms (@maas/training optimizeOnnx), measures both (size and accuracy; latency once the
 * result is registered, through `completeReport`), and refuses the result when it lost more than
 * `maxAccuracyDrop` points. Accuracy is measured on the source's held-out rows when it was
 * trained here, else on the rows sent as `evaluation.inputs`, else as top-1 agreement on inputs
 * generated from its signature.
 */
@Injectable()
export class VersionOptimizer {
  constructor(
    private readonly prisma: PrismaService,
    private readonly reader: ArtifactReader,
    private readonly workers: WorkerLatencyClient,
  ) {}

  async optimize(
    row: TrainingJob,
    progress: (stage: string) => Promise<void>,
  ): Promise<OptimizationOutcome> {
    const spec = row.hyperparameters as unknown as OptimizeJobSpec;
    const source = await this.prisma.modelVersion.findFirst({
      where: { id: spec.source.versionId, tenantId: row.tenantId },
    });
    if (!source || source.status !== 'ready') {
      throw new OptimizationRefused(
        `version ${spec.source.version} of '${row.modelName}' is no longer ready`,
      );
    }
    await progress('reading the source version');
    const sourceBytes = new Uint8Array(
      await this.reader.read({
        tenantId: row.tenantId,
        artifactKey: source.artifactKey,
        sha256: source.sha256,
        encrypted: source.encrypted,
      }),
    );
    await progress('transforming');
    let optimized: { bytes: Uint8Array; transforms: string[] };
    try {
      optimized = optimizeOnnx(sourceBytes, spec);
    } catch (error) {
      if (error instanceof ModelOptimizationError || error instanceof RangeError) {
        throw new OptimizationRefused(`cannot optimise this model: ${error.message}`);
      }
      throw error;
    }
    await progress('measuring accuracy');
    const accuracy = await this.accuracy(
      row,
      spec,
      source.trainingJobId,
      sourceBytes,
      optimized.bytes,
    );
    const agreement = await measureOutputAgreement(sourceBytes, optimized.bytes, {
      samples: AGREEMENT_SAMPLES,
      seed: 7,
    });
    if (accuracy.drop > spec.maxAccuracyDrop) {
      throw new OptimizationRefused(
        `refused: accuracy dropped ${accuracy.drop.toFixed(2)} points (${accuracy.method}, ${accuracy.rows} rows), more than maxAccuracyDrop ${spec.maxAccuracyDrop}; nothing was registered`,
      );
    }
    const optimization = {
      source: { version: spec.source.version, sha256: source.sha256 },
      transforms: optimized.transforms,
      sizeBytes: {
        before: sourceBytes.byteLength,
        after: optimized.bytes.byteLength,
        ratio: round(optimized.bytes.byteLength / sourceBytes.byteLength, 4),
      },
      accuracy: { ...accuracy, maxAccuracyDrop: spec.maxAccuracyDrop },
      agreement: { samples: agreement.samples, outputs: agreement.outputs },
    };
    return {
      onnx: optimized.bytes,
      report: { optimization },
      completeReport: async (versionId) => {
        await progress('measuring latency');
        const latency = await this.latency(
          row.tenantId,
          source.id,
          versionId,
          sourceBytes,
          optimized.bytes,
        );
        return { optimization: { ...optimization, ...latency } };
      },
    };
  }

  /**
   * Latency at batch 1 and 32, before (the source version) and after (the registered result):
   * measured by an inference worker as it serves them (the benchmark queue), else — no worker
   * answered — on this trainer with the worker's session options, and the report says which.
   */
  private async latency(
    tenantId: string,
    sourceVersionId: string,
    versionId: string,
    sourceBytes: Uint8Array,
    optimizedBytes: Uint8Array,
  ): Promise<Record<string, unknown>> {
    const measured = await this.workers.measure({
      tenantId,
      versionIds: [sourceVersionId, versionId],
      batches: [...BATCHES],
      runs: TIMED_RUNS,
      warmUpRuns: WARM_UP_RUNS,
    });
    const latencyMs: Record<string, { before: number; after: number }> = {};
    if (measured) {
      for (const batch of BATCHES) {
        const median = (id: string) =>
          measured.measurements.find((m) => m.versionId === id && m.batch === batch)?.medianMs;
        const before = median(sourceVersionId);
        const after = median(versionId);
        if (before !== undefined && after !== undefined)
          latencyMs[`batch${batch}`] = { before, after };
      }
      return {
        latencyMs,
        latencyMeasuredOn: {
          app: 'inference',
          workerId: measured.workerId,
          backend: measured.backend,
          method: `median of ${TIMED_RUNS} runs after ${WARM_UP_RUNS} warm-up runs, through the worker's model cache and model thread, timed on its event loop`,
        },
      };
    }
    for (const batch of BATCHES) {
      latencyMs[`batch${batch}`] = {
        before: await medianLatencyMs(sourceBytes, batch),
        after: await medianLatencyMs(optimizedBytes, batch),
      };
    }
    return {
      latencyMs,
      latencyMeasuredOn: {
        app: 'trainer',
        reason: 'no inference worker answered the benchmark job in time',
        method: `median of ${TIMED_RUNS} runs, onnxruntime-node CPU with the worker's session options and one intra-op thread`,
      },
    };
  }

  private async accuracy(
    row: TrainingJob,
    spec: OptimizeJobSpec,
    sourceJobId: string | null,
    sourceBytes: Uint8Array,
    optimizedBytes: Uint8Array,
  ): Promise<Accuracy> {
    const trained = sourceJobId
      ? await this.prisma.trainingJob.findUnique({ where: { id: sourceJobId } })
      : null;
    const sessions = await Promise.all(
      [sourceBytes, optimizedBytes].map((bytes) =>
        ort.InferenceSession.create(Buffer.from(bytes), TIMING_SESSION),
      ),
    );
    try {
      if (trained?.datasetId && trained.task === 'classification') {
        const dataset = await this.prisma.dataset.findUnique({ where: { id: trained.datasetId } });
        if (dataset && !dataset.deletedAt) {
          const csv = await this.reader.read({
            tenantId: row.tenantId,
            artifactKey: dataset.storageKey,
            sha256: dataset.sha256,
            encrypted: dataset.encrypted,
          });
          const hyperparameters = trained.hyperparameters as { testSplit: number; seed: number };
          const held = await heldOutRows(csv, {
            target: trained.target,
            features: trained.features,
            hyperparameters,
          });
          const feeds = onnxFeeds(featureLayoutOf(sourceBytes, trained.features), held.features);
          const [before, after] = await Promise.all(
            sessions.map((session) => labelAccuracy(session, feeds, held.targets)),
          );
          return {
            method: held.onTrainingRows ? 'training rows' : 'held-out rows',
            rows: held.targets.length,
            before: round(before, 4),
            after: round(after, 4),
            drop: round(100 * (before - after), 2),
          };
        }
      }
      // Not trained here: agreement with the source, on the rows sent or on generated ones.
      const given = spec.evaluation ? evaluationFeeds(spec.evaluation.inputs) : undefined;
      let agreement: OutputAgreement;
      try {
        agreement = await measureOutputAgreement(sourceBytes, optimizedBytes, {
          samples: AGREEMENT_SAMPLES,
          seed: 11,
          ...(given && { feeds: given }),
        });
      } catch (error) {
        throw new OptimizationRefused(
          `the ${given ? 'evaluation inputs' : 'generated inputs'} do not run on the source version: ${(error as Error).message}`,
        );
      }
      const method = given ? 'evaluation inputs' : 'generated inputs';
      const classifier = agreement.outputs.find((output) => output.top1Agreement !== undefined);
      if (classifier) {
        const top1 = classifier.top1Agreement!;
        return {
          method,
          rows: agreement.samples,
          agreement: round(top1, 4),
          drop: round(100 * (1 - top1), 2),
        };
      }
      // Continuous outputs only (regression): the largest error relative to the source's range.
      const worst = Math.max(0, ...agreement.outputs.map((output) => output.maxRelativeError));
      return { method, rows: agreement.samples, drop: round(100 * worst, 2) };
    } finally {
      await Promise.all(sessions.map((session) => session.release()));
    }
  }
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** v2 JSON inputs as onnxruntime tensors (shape checked against the data's length). */
function evaluationFeeds(inputs: NonNullable<OptimizeJobSpec['evaluation']>['inputs']): {
  tensors: Record<string, ort.Tensor>;
  rows: number;
} {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const count = input.shape.reduce((product, dim) => product * dim, 1);
    if (count !== input.data.length) {
      throw new OptimizationRefused(
        `evaluation input '${input.name}': shape [${input.shape.join(', ')}] needs ${count} values, got ${input.data.length}`,
      );
    }
    const numbers = () => input.data.map((value) => Number(value));
    switch (input.datatype) {
      case 'FP32':
        feeds[input.name] = new ort.Tensor('float32', Float32Array.from(numbers()), input.shape);
        break;
      case 'FP64':
        feeds[input.name] = new ort.Tensor('float64', Float64Array.from(numbers()), input.shape);
        break;
      case 'INT32':
        feeds[input.name] = new ort.Tensor('int32', Int32Array.from(numbers()), input.shape);
        break;
      case 'INT64':
        feeds[input.name] = new ort.Tensor(
          'int64',
          BigInt64Array.from(numbers(), (n) => BigInt(Math.trunc(n))),
          input.shape,
        );
        break;
      case 'BOOL':
        feeds[input.name] = new ort.Tensor(
          'bool',
          Uint8Array.from(input.data, (value) => (value ? 1 : 0)),
          input.shape,
        );
        break;
      case 'BYTES':
        feeds[input.name] = new ort.Tensor('string', input.data.map(String), input.shape);
        break;
    }
  }
  return { tensors: feeds, rows: inputs[0]?.shape[0] ?? 0 };
}

/** Median wall time of one run at `batch` rows, on inputs generated from the signature. */
async function medianLatencyMs(modelBytes: Uint8Array, batch: number): Promise<number> {
  const session = await ort.InferenceSession.create(Buffer.from(modelBytes), TIMING_SESSION);
  try {
    const feeds = generatedFeeds(modelBytes, batch, batch);
    return await medianRunMs(() => session.run(feeds), {
      runs: TIMED_RUNS,
      warmUpRuns: WARM_UP_RUNS,
    });
  } finally {
    await session.release();
  }
}
