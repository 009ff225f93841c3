import { TensorDataType } from './onnx-model.types.js';

const V2_DATATYPES: Partial<Record<number, string>> = {
  [TensorDataType.BOOL]: 'BOOL',
  [TensorDataType.UINT8]: 'UINT8',
  [TensorDataType.UINT16]: 'UINT16',
  [TensorDataType.UINT32]: 'UINT32',
  [TensorDataType.UINT64]: 'UINT64',
  [TensorDataType.INT8]: 'INT8',
  [TensorDataType.INT16]: 'INT16',
  [TensorDataType.INT32]: 'INT32',
  [TensorDataType.INT64]: 'INT64',
  [TensorDataType.FLOAT16]: 'FP16',
  [TensorDataType.FLOAT]: 'FP32',
  [TensorDataType.DOUBLE]: 'FP64',
  [TensorDataType.STRING]: 'BYTES',
  [TensorDataType.BFLOAT16]: 'BF16',
};

/** Open Inference Protocol (v2) datatype name of an ONNX element type, if it has one. */
export function toV2Datatype(elemType: number): string | undefined {
  return V2_DATATYPES[elemType];
}
