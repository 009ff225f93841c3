import { onnxProtoType } from '@maas/onnx';
import { InvalidModelError, printable } from './validation-errors.js';

/**
 * Operator domains onnxruntime-node ships kernels for ('' and 'ai.onnx' are the same one).
 * Anything else would need a custom-op library, which the platform never loads.
 */
export const ALLOWED_OPERATOR_DOMAINS: ReadonlySet<string> = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'com.microsoft',
]);

const DOMAINS_SENTENCE =
  'only the ai.onnx, ai.onnx.ml and com.microsoft operator sets (what onnxruntime ships) can run here';
const SELF_CONTAINED = 'models must be self-contained';

/** protobuf's own default recursion limit: onnxruntime cannot parse deeper messages either. */
const MAX_DEPTH = 100;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

// Field numbers of onnx.proto read here by number (the schema gives the rest).
const TENSOR_NAME = 8;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;

type ProtoType = ReturnType<typeof onnxProtoType>;

const MODEL_PROTO = onnxProtoType('onnx.ModelProto');

/** One field occurrence in a message: where its payload lies, and a varint's value. */
interface WireField {
  number: number;
  wireType: number;
  start: number;
  end: number;
  /** A varint's value (exact below 2^53; never 0 unless the varint is 0). */
  value: number;
}

/** What the walk knows about where it is, to name the offending tensor or node. */
interface Scope {
  /** The graph or function being walked: "graph 'main'", "function 'f'". */
  where: string;
  /** Names a tensor met directly here, given the tensor's own name. */
  tensor?: (name: string) => string;
  /** Why a graph is here (the attribute or training slot that holds it). */
  origin?: string;
  /** The node whose attributes are walked. */
  node?: string;
  /** Who imports the operator sets walked here. */
  importer?: string;
}

type ChildScope = (fieldName: string, index: number) => Scope;

/**
 * Refuses an ONNX model that refers to anything outside its own bytes, before onnxruntime sees
 * them (onnxruntime reads external files while it creates a session):
 *
 * - a tensor whose data lives elsewhere (`data_location = EXTERNAL` or any `external_data`
 *   entry), wherever it sits: graph initializers, sparse initializers (values and indices),
 *   tensor attributes of any node, every subgraph (If/Loop/Scan, recursively), model-local
 *   functions (their nodes and attribute defaults) and training-info graphs;
 * - an operator domain onnxruntime does not ship, in any node or operator-set import, and
 *   execution-provider context nodes (`EPContext`, which point at precompiled files);
 * - ORT-format (flatbuffer) models, which this check cannot read.
 *
 * It walks the protobuf wire format itself against the onnx.proto schema instead of decoding
 * to objects: every occurrence of a field is seen, so a tensor split over repeated occurrences
 * of one field (protobuf merges them; onnxruntime would too) cannot hide its external half,
 * and large raw_data is skipped, never copied. Errors are InvalidModelError (422) naming the
 * tensor or node; they never repeat an external location (or anything read from disk: nothing
 * is read).
 */
export function assertSelfContainedOnnx(bytes: Uint8Array): void {
  if (bytes.byteLength === 0) throw new InvalidModelError('the model file is empty');
  if (isOrtFormat(bytes)) {
    throw new InvalidModelError(
      'this is an ORT-format model; upload the ONNX (.onnx) model it was converted from',
    );
  }
  new SandboxWalk(bytes).message(MODEL_PROTO, 0, bytes.byteLength, { where: 'the model' }, 0, 0);
}

/** ORT-format models are flatbuffers with the file identifier 'ORTM' at bytes 4-7. */
function isOrtFormat(bytes: Uint8Array): boolean {
  return (
    bytes.byteLength >= 8 &&
    bytes[4] === 0x4f &&
    bytes[5] === 0x52 &&
    bytes[6] === 0x54 &&
    bytes[7] === 0x4d
  );
}

class SandboxWalk {
  private readonly decoder = new TextDecoder();

  constructor(private readonly bytes: Uint8Array) {}

  message(
    type: ProtoType,
    start: number,
    end: number,
    scope: Scope,
    index: number,
    depth: number,
  ): void {
    if (depth > MAX_DEPTH) {
      throw new InvalidModelError(`the model nests messages more than ${MAX_DEPTH} levels deep`);
    }
    const fields = this.fields(start, end, depth);
    const childScope = this.inspect(type, fields, scope, index);
    const seen = new Map<number, number>();
    for (const field of fields) {
      if (field.wireType !== LENGTH_DELIMITED) continue;
      const schemaField = type.fieldsById[field.number];
      const child = schemaField?.resolve().resolvedType;
      // Only message-typed fields can hold tensors or graphs; unknown fields are skipped, as
      // protobuf (and so onnxruntime) keeps them unparsed.
      if (!schemaField || !child || !('fieldsById' in child)) continue;
      const occurrence = seen.get(field.number) ?? 0;
      seen.set(field.number, occurrence + 1);
      this.message(
        child,
        field.start,
        field.end,
        childScope(schemaField.name, occurrence),
        occurrence,
        depth + 1,
      );
    }
  }

  /** Checks a message's own fields; returns the scope its children are walked in. */
  private inspect(type: ProtoType, fields: WireField[], scope: Scope, index: number): ChildScope {
    const { where } = scope;
    switch (type.name) {
      case 'ModelProto':
        return (name, i) => {
          if (name === 'trainingInfo') return { where, origin: `training_info[${i}]` };
          if (name === 'opsetImport') return { where, importer: 'the model' };
          return { where };
        };
      case 'TrainingInfoProto':
        return (name) => ({ where, origin: `${scope.origin ?? 'training_info'}.${snake(name)}` });
      case 'GraphProto': {
        const name = this.lastText(fields, 2) ?? '';
        const graph = scope.origin
          ? `graph ${quote(name)} (${scope.origin})`
          : `graph ${quote(name)}`;
        return (field) => {
          if (field === 'initializer') {
            return { where: graph, tensor: (n) => `initializer ${quote(n)} in ${graph}` };
          }
          if (field === 'sparseInitializer') {
            return { where: graph, tensor: (n) => `sparse initializer ${quote(n)} in ${graph}` };
          }
          return { where: graph };
        };
      }
      case 'FunctionProto': {
        const fn = `function ${quote(this.lastText(fields, 1) ?? '')}`;
        for (const domain of this.texts(fields, 10)) {
          if (!ALLOWED_OPERATOR_DOMAINS.has(domain)) {
            throw new InvalidModelError(
              `${fn} is defined in operator domain ${quote(domain)}; ${DOMAINS_SENTENCE}`,
            );
          }
        }
        return (field) => (field === 'opsetImport' ? { where: fn, importer: fn } : { where: fn });
      }
      case 'NodeProto': {
        const name = this.lastText(fields, 3);
        const opType = this.lastText(fields, 4) ?? '';
        const node = `node ${name ? quote(name) : `#${index}`} (${printable(opType)})`;
        for (const domain of this.texts(fields, 7)) {
          if (!ALLOWED_OPERATOR_DOMAINS.has(domain)) {
            throw new InvalidModelError(
              `${node} in ${where} uses operator domain ${quote(domain)}; ${DOMAINS_SENTENCE}`,
            );
          }
        }
        if (this.texts(fields, 4).includes('EPContext')) {
          throw new InvalidModelError(
            `${node} in ${where} is an execution-provider context node, which loads precompiled data from outside the model; ${SELF_CONTAINED}`,
          );
        }
        return () => ({ where, node });
      }
      case 'AttributeProto': {
        const name = quote(this.lastText(fields, 1) ?? '');
        const attribute = scope.node
          ? `attribute ${name} of ${scope.node} in ${where}`
          : `attribute ${name} of ${where}`;
        return (field) => {
          if (field === 'g' || field === 'graphs') return { where, origin: attribute };
          return { where, tensor: () => attribute };
        };
      }
      case 'SparseTensorProto': {
        const values = fields.findLast((f) => f.number === 1 && f.wireType === LENGTH_DELIMITED);
        const name = values
          ? (this.lastText(this.fields(values.start, values.end, 0), TENSOR_NAME) ?? '')
          : '';
        const holder = scope.tensor?.(name) ?? `sparse tensor ${quote(name)} in ${where}`;
        return (field) => ({ where, tensor: () => `the ${field} of ${holder}` });
      }
      case 'OperatorSetIdProto': {
        for (const domain of this.texts(fields, 1)) {
          if (!ALLOWED_OPERATOR_DOMAINS.has(domain)) {
            throw new InvalidModelError(
              `${scope.importer ?? 'the model'} imports operator set ${quote(domain)}; ${DOMAINS_SENTENCE}`,
            );
          }
        }
        return () => ({ where });
      }
      case 'TensorProto': {
        // Any external_data entry, or a data_location other than DEFAULT (0) in any encoding:
        // stricter than onnxruntime, which only follows EXTERNAL.
        const external = fields.some(
          (f) =>
            f.number === TENSOR_EXTERNAL_DATA ||
            (f.number === TENSOR_DATA_LOCATION && (f.wireType !== VARINT || f.value !== 0)),
        );
        if (external) {
          const name = this.lastText(fields, TENSOR_NAME) ?? '';
          const holder = scope.tensor?.(name) ?? `tensor ${quote(name)} in ${where}`;
          throw new InvalidModelError(
            `${holder} stores its data outside the model (external data); ${SELF_CONTAINED}`,
          );
        }
        return () => ({ where });
      }
      default:
        return () => ({ where });
    }
  }

  /** Every length-delimited occurrence of a string field, decoded. */
  private texts(fields: WireField[], number: number): string[] {
    return fields
      .filter((f) => f.number === number && f.wireType === LENGTH_DELIMITED)
      .map((f) => this.decoder.decode(this.bytes.subarray(f.start, f.end)));
  }

  /** A string field's value as protobuf reads it (the last occurrence wins). */
  private lastText(fields: WireField[], number: number): string | undefined {
    const texts = this.texts(fields, number);
    return texts.length > 0 ? texts[texts.length - 1] : undefined;
  }

  /** The fields of the message in bytes [start, end), without descending into them. */
  private fields(start: number, end: number, depth: number): WireField[] {
    const fields: WireField[] = [];
    let position = start;
    while (position < end) {
      const tag = this.varint(position, end);
      const number = Math.floor(tag.value / 8);
      const wireType = tag.value % 8;
      if (number === 0) malformed(position);
      position = tag.end;
      let field: WireField;
      switch (wireType) {
        case VARINT: {
          const value = this.varint(position, end);
          field = { number, wireType, start: position, end: value.end, value: value.value };
          break;
        }
        case FIXED64:
        case FIXED32: {
          const size = wireType === FIXED64 ? 8 : 4;
          field = { number, wireType, start: position, end: position + size, value: 0 };
          break;
        }
        case LENGTH_DELIMITED: {
          const length = this.varint(position, end);
          field = { number, wireType, start: length.end, end: length.end + length.value, value: 0 };
          break;
        }
        case START_GROUP: {
          const after = this.skipGroup(position, end, number, depth + 1);
          field = { number, wireType, start: position, end: after, value: 0 };
          break;
        }
        default:
          return malformed(position);
      }
      if (field.end > end) malformed(position);
      fields.push(field);
      position = field.end;
    }
    return fields;
  }

  /** The position after the END_GROUP that closes group `number` (groups are never walked). */
  private skipGroup(start: number, end: number, number: number, depth: number): number {
    if (depth > MAX_DEPTH) malformed(start);
    let position = start;
    while (position < end) {
      const tag = this.varint(position, end);
      const fieldNumber = Math.floor(tag.value / 8);
      const wireType = tag.value % 8;
      position = tag.end;
      if (wireType === END_GROUP) {
        if (fieldNumber !== number) malformed(position);
        return position;
      }
      if (wireType === VARINT) position = this.varint(position, end).end;
      else if (wireType === FIXED64) position += 8;
      else if (wireType === FIXED32) position += 4;
      else if (wireType === LENGTH_DELIMITED) {
        const length = this.varint(position, end);
        position = length.end + length.value;
      } else if (wireType === START_GROUP) {
        position = this.skipGroup(position, end, fieldNumber, depth + 1);
      } else malformed(position);
    }
    return malformed(start);
  }

  private varint(start: number, end: number): { value: number; end: number } {
    let value = 0;
    let scale = 1;
    for (let position = start; position < end && position < start + 10; position++) {
      const byte = this.bytes[position]!;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return { value, end: position + 1 };
    }
    return malformed(start);
  }
}

function malformed(position: number): never {
  throw new InvalidModelError(
    `not a loadable ONNX model: malformed protobuf encoding at byte ${position}`,
  );
}

const quote = (text: string) => `'${printable(text)}'`;

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
