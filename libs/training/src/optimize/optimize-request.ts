import { MAX_PRUNE_SPARSITY } from '@maas/onnx';
import { z } from 'zod';

/** One v2 JSON input tensor (flat `data`, row-major), as `/v2/models/{m}/infer` takes it. */
const evaluationInput = z
  .object({
    name: z.string().min(1).max(256),
    datatype: z.enum(['FP32', 'FP64', 'INT32', 'INT64', 'BOOL', 'BYTES']),
    shape: z.array(z.number().int().min(0).max(1_000_000)).min(1).max(8),
    data: z.array(z.union([z.number(), z.string(), z.boolean()])).max(1_000_000),
  })
  .strict();

/**
 * `POST /api/models/{m}/versions/{v}/optimize`: a new version of `m` made from version `v` by
 * magnitude pruning (`pruneSparsity` of each dense weight set to zero) and/or quantisation
 * (`int8`: dynamic, uint8 weights; `fp16`: weights and compute in half precision), refused when
 * its accuracy drops by more than `maxAccuracyDrop` points. `evaluation.inputs` are rows to
 * compare source and result on when the source was not trained here.
 */
export const optimizeRequestSchema = z
  .object({
    quantize: z.enum(['int8', 'fp16']).nullable().default(null),
    pruneSparsity: z.number().min(0).max(MAX_PRUNE_SPARSITY).nullable().default(null),
    maxAccuracyDrop: z.number().min(0).max(100).default(1),
    evaluation: z
      .object({ inputs: z.array(evaluationInput).min(1).max(64) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((request) => request.quantize !== null || request.pruneSparsity !== null, {
    message: 'ask for quantize, pruneSparsity or both',
  });

export type OptimizeRequest = z.infer<typeof optimizeRequestSchema>;

/** The training_jobs `algorithm` of an optimisation job (it runs on the training queue). */
export const OPTIMIZE_ALGORITHM = 'optimize';

/** What an optimisation job (algorithm `optimize`) stores as its hyperparameters. */
export interface OptimizeJobSpec extends OptimizeRequest {
  source: { version: number; versionId: string };
}
