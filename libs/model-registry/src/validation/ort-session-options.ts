import type { InferenceSession } from 'onnxruntime-node';
import { ortSandboxSessionConfig } from './ort-sandbox-options.js';

/** What may differ between the sessions of one model: tuning, never what loads. */
export interface OrtSessionTuning {
  /** onnxruntime intra-op threads; 0 (the default) lets onnxruntime choose. */
  intraOpThreads?: number;
  /** Inter-op threads (unused in sequential execution; 1 avoids starting a pool). */
  interOpThreads?: number;
  /** Busy-wait in idle intra-op threads (off unless asked: it burns CPU after every run). */
  allowSpinning?: boolean;
  /** 3 keeps onnxruntime's warnings out of the logs (the upload check). */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/**
 * The onnxruntime session options of every session of a tenant's model, the upload check and
 * the worker alike, so that what validates is what loads: graph optimisation level 'all' (the
 * optimiser removes and fuses nodes, so a model can load at one level and not another), the
 * sandbox config entries, sequential execution. Only `tuning` differs between callers.
 */
export function ortSessionOptions(tuning: OrtSessionTuning = {}): InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: tuning.intraOpThreads ?? 0,
    ...(tuning.interOpThreads !== undefined && { interOpNumThreads: tuning.interOpThreads }),
    ...(tuning.logSeverityLevel !== undefined && { logSeverityLevel: tuning.logSeverityLevel }),
    extra: {
      session: {
        ...ortSandboxSessionConfig(),
        intra_op: { allow_spinning: tuning.allowSpinning ? '1' : '0' },
      },
    },
  };
}
