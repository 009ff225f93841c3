import {
  AttributeType,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  TensorDataType,
} from './onnx-model.types.js';

/**
 * IR 8 / opset 17 by default: what onnx 1.12 (Debian's python3-onnx checker) understands,
 * and well inside what onnxruntime 1.30 runs.
 */
export const DEFAULT_IR_VERSION = 8;
export const DEFAULT_OPSET_VERSION = 17;

export type TensorValues =
  | readonly number[]
  | readonly bigint[]
  | readonly string[]
  | readonly boolean[]
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array;

interface FixedSizeLayout {
  bytes: number;
  write(view: DataView, offset: number, value: number | bigint | boolean): void;
  read(view: DataView, offset: number): number | bigint | boolean;
}

// Little-endian, as onnx.proto requires for raw_data.
const FIXED_SIZE_LAYOUTS: Partial<Record<number, FixedSizeLayout>> = {
  [TensorDataType.FLOAT]: {
    bytes: 4,
    write: (v, o, x) => v.setFloat32(o, Number(x), true),
    read: (v, o) => v.getFloat32(o, true),
  },
  [TensorDataType.DOUBLE]: {
    bytes: 8,
    write: (v, o, x) => v.setFloat64(o, Number(x), true),
    read: (v, o) => v.getFloat64(o, true),
  },
  [TensorDataType.INT8]: {
    bytes: 1,
    write: (v, o, x) => v.setInt8(o, Number(x)),
    read: (v, o) => v.getInt8(o),
  },
  [TensorDataType.UINT8]: {
    bytes: 1,
    write: (v, o, x) => v.setUint8(o, Number(x)),
    read: (v, o) => v.getUint8(o),
  },
  [TensorDataType.INT16]: {
    bytes: 2,
    write: (v, o, x) => v.setInt16(o, Number(x), true),
    read: (v, o) => v.getInt16(o, true),
  },
  [TensorDataType.UINT16]: {
    bytes: 2,
    write: (v, o, x) => v.setUint16(o, Number(x), true),
    read: (v, o) => v.getUint16(o, true),
  },
  [TensorDataType.INT32]: {
    bytes: 4,
    write: (v, o, x) => v.setInt32(o, Number(x), true),
    read: (v, o) => v.getInt32(o, true),
  },
  [TensorDataType.UINT32]: {
    bytes: 4,
    write: (v, o, x) => v.setUint32(o, Number(x), true),
    read: (v, o) => v.getUint32(o, true),
  },
  [TensorDataType.INT64]: {
    bytes: 8,
    write: (v, o, x) => v.setBigInt64(o, BigInt(x), true),
    read: (v, o) => v.getBigInt64(o, true),
  },
  [TensorDataType.UINT64]: {
    bytes: 8,
    write: (v, o, x) => v.setBigUint64(o, BigInt(x), true),
    read: (v, o) => v.getBigUint64(o, true),
  },
  [TensorDataType.BOOL]: {
    bytes: 1,
    write: (v, o, x) => v.setUint8(o, x ? 1 : 0),
    read: (v, o) => v.getUint8(o) !== 0,
  },
};

function elementCount(dims: readonly number[]): number {
  return dims.reduce((count, dim) => count * dim, 1);
}

/**
 * A constant tensor (initializer or attribute value). Numbers and booleans go to raw_data,
 * strings to string_data (UTF-8). INT64/UINT64 take numbers or bigints.
 */
export function tensorProto(
  name: string,
  dataType: TensorDataType,
  dims: readonly number[],
  values: TensorValues,
): OnnxTensor {
  const count = elementCount(dims);
  if (values.length !== count) {
    throw new RangeError(
      `tensor '${name}': ${values.length} values do not fill shape [${dims.join(', ')}]`,
    );
  }
  if (dataType === TensorDataType.STRING) {
    const encoder = new TextEncoder();
    return {
      name,
      dataType,
      dims: [...dims],
      stringData: Array.from(values as readonly string[], (value) => encoder.encode(value)),
    };
  }
  const layout = FIXED_SIZE_LAYOUTS[dataType];
  if (!layout) throw new RangeError(`tensor '${name}': data type ${dataType} is not supported`);
  const rawData = new Uint8Array(count * layout.bytes);
  const view = new DataView(rawData.buffer);
  for (let index = 0; index < count; index += 1) {
    layout.write(view, index * layout.bytes, values[index] as number | bigint | boolean);
  }
  return { name, dataType, dims: [...dims], rawData };
}

/** Reads a tensor's values from whichever field holds them (raw_data or a typed field). */
export function readTensorValues(tensor: OnnxTensor): number[] | bigint[] | string[] | boolean[] {
  if (tensor.dataType === TensorDataType.STRING) {
    const decoder = new TextDecoder();
    return (tensor.stringData ?? []).map((value) => decoder.decode(value));
  }
  const layout = FIXED_SIZE_LAYOUTS[tensor.dataType];
  if (!layout) throw new RangeError(`data type ${tensor.dataType} is not supported`);
  if (tensor.rawData && tensor.rawData.byteLength > 0) {
    const raw = tensor.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const count = raw.byteLength / layout.bytes;
    const values: (number | bigint | boolean)[] = [];
    for (let index = 0; index < count; index += 1) {
      values.push(layout.read(view, index * layout.bytes));
    }
    return values as number[] | bigint[] | boolean[];
  }
  switch (tensor.dataType) {
    case TensorDataType.FLOAT:
      return tensor.floatData ?? [];
    case TensorDataType.DOUBLE:
      return tensor.doubleData ?? [];
    case TensorDataType.INT64:
      return tensor.int64Data ?? [];
    case TensorDataType.UINT32:
    case TensorDataType.UINT64:
      return tensor.uint64Data ?? [];
    case TensorDataType.BOOL:
      return (tensor.int32Data ?? []).map((value) => value !== 0);
    default:
      // int32_data also carries the narrower integer types.
      return tensor.int32Data ?? [];
  }
}

/** Attribute values for {@link node}; the helper picks the ONNX attribute type explicitly. */
export type AttributeValue = Omit<OnnxAttribute, 'name'>;

/**
 * Typed attribute constructors: a JS number cannot say whether it is an INT or a FLOAT
 * attribute (Gemm's alpha=1 must be FLOAT), so the caller chooses.
 */
export const attribute = {
  float: (value: number): AttributeValue => ({ type: AttributeType.FLOAT, f: value }),
  int: (value: number): AttributeValue => ({ type: AttributeType.INT, i: value }),
  string: (value: string): AttributeValue => ({
    type: AttributeType.STRING,
    s: new TextEncoder().encode(value),
  }),
  tensor: (value: OnnxTensor): AttributeValue => ({ type: AttributeType.TENSOR, t: value }),
  graph: (value: OnnxGraph): AttributeValue => ({ type: AttributeType.GRAPH, g: value }),
  floats: (values: readonly number[]): AttributeValue => ({
    type: AttributeType.FLOATS,
    floats: [...values],
  }),
  ints: (values: readonly number[]): AttributeValue => ({
    type: AttributeType.INTS,
    ints: [...values],
  }),
  strings: (values: readonly string[]): AttributeValue => {
    const encoder = new TextEncoder();
    return { type: AttributeType.STRINGS, strings: values.map((value) => encoder.encode(value)) };
  },
};

export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Record<string, AttributeValue> = {},
  domain?: string,
): OnnxNode {
  return {
    input: [...inputs],
    output: [...outputs],
    opType,
    ...(domain !== undefined && domain !== '' && { domain }),
    attribute: Object.entries(attributes).map(([name, value]) => ({ ...value, name })),
  };
}

/** A tensor input/output declaration; a string dim is symbolic (free), e.g. 'batch'. */
export function valueInfo(
  name: string,
  elemType: TensorDataType,
  shape: readonly (number | string)[],
): OnnxValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: shape.map((dim) =>
            typeof dim === 'string' ? { dimParam: dim } : { dimValue: dim },
          ),
        },
      },
    },
  };
}

/** Operator set versions by domain: `{ '': 17, 'ai.onnx.ml': 3 }`. */
export type OpsetVersions = Record<string, number>;

export interface GraphSpec {
  name?: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers?: OnnxTensor[];
}

export interface BuildModelOptions {
  graph: GraphSpec;
  /** Defaults to the default domain at {@link DEFAULT_OPSET_VERSION}. */
  opsets?: OpsetVersions;
  producerName?: string;
  producerVersion?: string;
  irVersion?: number;
  docString?: string;
}

export function buildModel(options: BuildModelOptions): OnnxModel {
  const opsets = options.opsets ?? { '': DEFAULT_OPSET_VERSION };
  const { graph } = options;
  return {
    irVersion: options.irVersion ?? DEFAULT_IR_VERSION,
    opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
    producerName: options.producerName ?? 'maas',
    ...(options.producerVersion !== undefined && { producerVersion: options.producerVersion }),
    ...(options.docString !== undefined && { docString: options.docString }),
    graph: {
      name: graph.name ?? 'main',
      node: graph.nodes,
      initializer: graph.initializers ?? [],
      input: graph.inputs,
      output: graph.outputs,
    },
  };
}
