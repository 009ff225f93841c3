import {
  type NumericTypedArray,
  type OrtTensorType,
  datatypeForOrtType,
  isFixedSizeDatatype,
  ortTypeForDatatype,
  typedArrayConstructor,
} from './datatype.js';
import { bytesElementText } from './json-writer.js';
import { PackedBytes } from './packed-bytes.js';
import { type Tensor, assertValidTensor, describeData } from './tensor.js';
import { TensorError } from './tensor.error.js';

/** Arguments for `new ort.Tensor(type, data, dims)`; kept as plain data so this lib needs no ORT. */
export interface OrtFeed {
  type: OrtTensorType;
  /** Packed strings are made into `string[]` where the session runs (a model thread). */
  data: NumericTypedArray | string[] | PackedBytes;
  dims: number[];
}

/** Maps decoded inputs to ORT feeds; typed arrays are passed through without copying. */
export function toOrtFeeds(inputs: readonly Tensor[]): Record<string, OrtFeed> {
  const feeds: Record<string, OrtFeed> = Object.create(null) as Record<string, OrtFeed>;
  for (const input of inputs) {
    const where = `input '${input.name}'`;
    if (Object.hasOwn(feeds, input.name)) throw new TensorError(`${where}: given more than once`);
    const type = ortTypeForDatatype(input.datatype);
    if (type === null) {
      throw new TensorError(
        `${where}: datatype ${input.datatype} is not supported by onnxruntime`,
        'UNIMPLEMENTED',
      );
    }
    assertValidTensor(input, 'input', 'INVALID_ARGUMENT');
    const data = Array.isArray(input.data)
      ? (input.data as (string | Buffer)[]).map((element) => bytesElementText(element))
      : input.data;
    // (PackedBytes passes as it is: its thread reads the strings out of it.)
    feeds[input.name] = { type, data, dims: input.shape.slice() };
  }
  return feeds;
}

function isFloat16Array(data: unknown): data is ArrayBufferView & { length: number } {
  // Newer runtimes may hand float16 back as Float16Array; its bytes are the bits we keep.
  return ArrayBuffer.isView(data) && data.constructor.name === 'Float16Array';
}

/** Maps one ORT output (`tensor.type`, `tensor.data`, `tensor.dims`) to a Tensor. */
export function fromOrtOutput(
  name: string,
  type: string,
  data: unknown,
  dims: readonly number[],
): Tensor {
  const where = `output '${name}'`;
  const datatype = datatypeForOrtType(type);
  if (datatype === null) {
    throw new TensorError(
      `${where}: onnxruntime type '${type}' has no v2 datatype`,
      'UNIMPLEMENTED',
    );
  }
  let tensorData: Tensor['data'];
  if (!isFixedSizeDatatype(datatype)) {
    // A model thread packs the strings it sends back (PackedBytes, revived here).
    const packed = PackedBytes.revive(data);
    if (packed instanceof PackedBytes) {
      tensorData = packed;
    } else if (!Array.isArray(data) || !data.every((element) => typeof element === 'string')) {
      throw new TensorError(`${where}: string tensor data must be an array of strings`, 'INTERNAL');
    } else {
      tensorData = data as string[];
    }
  } else if (datatype === 'FP16' && isFloat16Array(data)) {
    tensorData = new Uint16Array(data.buffer, data.byteOffset, data.length);
  } else if (data instanceof typedArrayConstructor(datatype)) {
    tensorData = data as NumericTypedArray;
  } else {
    throw new TensorError(
      `${where}: ${describeData(data)} data does not fit onnxruntime type '${type}'`,
      'INTERNAL',
    );
  }
  const tensor: Tensor = { name, datatype, shape: Array.from(dims, Number), data: tensorData };
  assertValidTensor(tensor, 'output');
  return tensor;
}
