import { convertFp16, pruneMagnitude, quantizeInt8 } from '@maas/onnx';
import type { OptimizeRequest } from './optimize-request.js';

/**
 * Applies the requested transforms to an ONNX model: pruning first (it reads the float
 * weights), then int8 or fp16. Throws ModelOptimizationError (from @maas/onnx) with the reason
 * when the model cannot take one, e.g. fp16 on an operator with no half-precision CPU kernel.
 */
export function optimizeOnnx(
  source: Uint8Array,
  request: Pick<OptimizeRequest, 'quantize' | 'pruneSparsity'>,
): { bytes: Uint8Array; transforms: string[] } {
  let bytes = source;
  const transforms: string[] = [];
  if (request.pruneSparsity !== null) {
    bytes = pruneMagnitude(bytes, request.pruneSparsity).bytes;
    transforms.push(`prune-magnitude ${request.pruneSparsity}`);
  }
  if (request.quantize === 'int8') {
    // The dynamic form: onnxruntime-node's CPU provider runs it faster than qdq (bench/optimize).
    const quantized = quantizeInt8(bytes, { form: 'dynamic' });
    bytes = quantized.bytes;
    transforms.push(`quantize-int8 ${quantized.report.form}`);
  } else if (request.quantize === 'fp16') {
    bytes = convertFp16(bytes).bytes;
    transforms.push('convert-fp16');
  }
  return { bytes, transforms };
}
