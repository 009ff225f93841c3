import {
  DATATYPES as SDK_DATATYPES,
  TYPED_ARRAYS,
  type TypedArrayByDatatype as SdkTypedArrayByDatatype,
} from '@maas/sdk/datatypes';

/**
 * Open Inference Protocol (KServe v2 / Triton) datatype names: the SDK's (the protocol's one
 * table, `@maas/sdk/datatypes`) and BF16, which the server accepts and the SDK does not encode.
 */
export const DATATYPES = [...SDK_DATATYPES, 'BF16'] as const;

export type Datatype = (typeof DATATYPES)[number];

/** Datatypes whose elements have a fixed byte size (everything but BYTES). */
export type FixedSizeDatatype = Exclude<Datatype, 'BYTES'>;

/** onnxruntime-node tensor type strings this lib maps to (no bfloat16 in ORT's JS API). */
export type OrtTensorType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export type NumericTypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** The typed array each fixed-size datatype is held in (FP16/BF16 as raw bits, BOOL as 0/1). */
export interface TypedArrayByDatatype extends SdkTypedArrayByDatatype {
  BF16: Uint16Array;
}

export interface TypedArrayConstructorOf<T extends NumericTypedArray> {
  new (length: number): T;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

const TYPED_ARRAY_CONSTRUCTORS: {
  [D in FixedSizeDatatype]: TypedArrayConstructorOf<TypedArrayByDatatype[D]>;
} = { ...TYPED_ARRAYS, BF16: Uint16Array };

const BYTE_SIZES: Readonly<Record<Datatype, number | null>> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
  BYTES: null,
  BF16: 2,
};

const ORT_TYPES: Readonly<Record<Datatype, OrtTensorType | null>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
  BF16: null,
};

const DATATYPES_BY_ORT_TYPE: Readonly<Record<OrtTensorType, Datatype>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const DATATYPE_SET: ReadonlySet<string> = new Set(DATATYPES);

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && DATATYPE_SET.has(value);
}

export function isFixedSizeDatatype(datatype: Datatype): datatype is FixedSizeDatatype {
  return datatype !== 'BYTES';
}

/** Bytes per element, or null for BYTES (variable length). */
export function elementByteSize(datatype: Datatype): number | null {
  return BYTE_SIZES[datatype];
}

export function typedArrayConstructor<D extends FixedSizeDatatype>(
  datatype: D,
): TypedArrayConstructorOf<TypedArrayByDatatype[D]> {
  return TYPED_ARRAY_CONSTRUCTORS[datatype];
}

/** The onnxruntime-node type string, or null where ORT's JS API has none (BF16). */
export function ortTypeForDatatype(datatype: Datatype): OrtTensorType | null {
  return ORT_TYPES[datatype];
}

/** The v2 datatype for an onnxruntime-node type string, or null when there is none. */
export function datatypeForOrtType(ortType: string): Datatype | null {
  return Object.hasOwn(DATATYPES_BY_ORT_TYPE, ortType)
    ? DATATYPES_BY_ORT_TYPE[ortType as OrtTensorType]
    : null;
}
