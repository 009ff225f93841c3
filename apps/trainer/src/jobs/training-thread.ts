// Worker-thread entry: the CPU-heavy part of a training job, off the event loop that renews
// BullMQ locks and writes progress. Messages: progress | log | done | failed.
import { parentPort, workerData } from 'node:worker_threads';
import type { TfjsBackendName } from '@maas/tfjs-runtime';
import { type MlpEngine, runTraining, TrainingDataError, type TrainingPlan } from '@maas/training';

export interface TrainingThreadInput {
  csv: Uint8Array;
  plan: TrainingPlan;
  backend: 'auto' | TfjsBackendName;
  /** ONNX Runtime engine: intra-op threads. */
  threads?: number;
  engine?: 'auto' | MlpEngine;
  /**
   * Set to 1 by the parent to stop: training stops at its next check (between ONNX Runtime
   * calls). Terminating the thread inside an ONNX Runtime call aborts the whole process.
   */
  stop: Int32Array;
}

export type TrainingThreadMessage =
  | { type: 'progress'; data: Record<string, number | string> }
  | { type: 'log'; message: string }
  | {
      type: 'done';
      onnx: Uint8Array;
      metrics: Record<string, unknown>;
      backend: string | null;
      tfjs?: { modelJson: string; weights: Uint8Array; preprocessing: unknown };
      /** Decision trees: the tree as JSON and rules, stored with the version. */
      tree?: object;
      onnxMaxAbsDiff: number;
    }
  | { type: 'failed'; message: string; badData: boolean };

const input = workerData as TrainingThreadInput;
const post = (message: TrainingThreadMessage) => parentPort!.postMessage(message);

runTraining(Buffer.from(input.csv), input.plan, {
  backend: input.backend,
  threads: input.threads,
  engine: input.engine,
  shouldStop: () => Atomics.load(input.stop, 0) === 1,
  onProgress: (data) => post({ type: 'progress', data }),
  onLog: (message) => post({ type: 'log', message }),
}).then(
  (outcome) =>
    post({
      type: 'done',
      onnx: outcome.onnx,
      metrics: outcome.metrics as unknown as Record<string, unknown>,
      backend: outcome.backend,
      tfjs: outcome.tfjs,
      tree: outcome.tree,
      onnxMaxAbsDiff: outcome.onnxMaxAbsDiff,
    }),
  (error: unknown) =>
    post({
      type: 'failed',
      message: (error as Error).message ?? String(error),
      badData:
        error instanceof TrainingDataError ||
        (error as { code?: string }).code === 'INVALID_ARGUMENT',
    }),
);
