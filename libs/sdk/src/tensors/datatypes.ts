// The Open Inference Protocol's datatypes and the typed arrays that hold them: part of the
// wire protocol, so the SDK owns them, and the server's @maas/tensors builds on this module
// (`@maas/sdk/datatypes`, its one import of the SDK) instead of keeping a second table. It
// imports nothing, so it runs wherever the SDK or the server does.

/** Open Inference Protocol (KServe v2 / Triton) datatypes the SDK encodes and decodes. */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

/**
 * The typed array each fixed-size datatype's elements are held in (BOOL as 0/1 bytes, FP16 as
 * its raw bits).
 */
export interface TypedArrayByDatatype {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
}

/** The constructor of each datatype's typed array (TypedArrayByDatatype). */
export const TYPED_ARRAYS = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
} as const satisfies Record<keyof TypedArrayByDatatype, unknown>;
