import { endianness } from 'node:os';
import { type Datatype, isFixedSizeDatatype } from './datatype.js';
import type { DataRunSource } from './json-data-runs.js';
import { numberToBfloat16Bits, numberToFloat16Bits } from './half-float.js';
import { type TensorData, allocateTypedArray } from './tensor.js';
import { TensorError } from './tensor.error.js';

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';
const TWO_POW_32 = 2 ** 32;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

const INTEGER_RANGES: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
};

/** Records, while decoding, that a 64-bit integer came through JSON.parse rounded. */
export interface JsonDecodeContext {
  /** True once the text was parsed by parseJsonExact (big integers are bigint). */
  exact: boolean;
  sawImpreciseInteger: boolean;
  /** `data` arrays lifted out before JSON.parse (infer-request.decoder's fast path). */
  runs?: DataRunSource;
}

function flattenInto(value: readonly unknown[], out: unknown[], position: number): number {
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (Array.isArray(item)) position = flattenInto(item, out, position);
    else out[position++] = item;
  }
  return position;
}

/**
 * Row-major flattening of nested `data` (`[[1,2],[3,4]]` is `[1,2,3,4]`); flat data is returned
 * as is. Preallocating the expected count is ~10x faster than Array#flat(Infinity).
 */
export function flattenJsonData(
  data: readonly unknown[],
  expectedCount: number,
): readonly unknown[] {
  let nested = false;
  for (let i = 0; i < data.length && !nested; i++) nested = Array.isArray(data[i]);
  if (!nested) return data;
  const out = new Array<unknown>(expectedCount);
  out.length = flattenInto(data, out, 0);
  return out;
}

function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function elementError(
  where: string,
  index: number,
  expectation: string,
  value: unknown,
): TensorError {
  return new TensorError(
    `${where}: element ${index} must be ${expectation}, got ${describeJsonValue(value)}`,
  );
}

/**
 * Converts flat JSON values (already counted against the shape) into this lib's tensor data,
 * checking each element's type and range. FP16/BF16 numbers are accepted and rounded to the
 * 16-bit pattern, although the protocol only promises them in binary form.
 */
export function jsonValuesToTensorData(
  datatype: Datatype,
  values: readonly unknown[],
  where: string,
  context?: JsonDecodeContext,
): TensorData {
  const count = values.length;
  if (!isFixedSizeDatatype(datatype)) {
    for (let i = 0; i < count; i++) {
      if (typeof values[i] !== 'string') throw elementError(where, i, 'a string', values[i]);
    }
    return (values as string[]).slice();
  }
  switch (datatype) {
    case 'BOOL': {
      const out = allocateTypedArray('BOOL', count);
      for (let i = 0; i < count; i++) {
        const value = values[i];
        if (value === true) out[i] = 1;
        else if (value !== false) throw elementError(where, i, 'true or false', value);
      }
      return out;
    }
    case 'FP32':
    case 'FP64': {
      const out = allocateTypedArray(datatype, count);
      for (let i = 0; i < count; i++) {
        const value = values[i];
        if (typeof value === 'number') out[i] = value;
        else if (typeof value === 'bigint') out[i] = Number(value);
        else throw elementError(where, i, 'a number', value);
      }
      return out;
    }
    case 'FP16':
    case 'BF16': {
      const out = allocateTypedArray(datatype, count);
      const toBits = datatype === 'FP16' ? numberToFloat16Bits : numberToBfloat16Bits;
      for (let i = 0; i < count; i++) {
        const value = values[i];
        if (typeof value === 'number') out[i] = toBits(value);
        else if (typeof value === 'bigint') out[i] = toBits(Number(value));
        else throw elementError(where, i, 'a number', value);
      }
      return out;
    }
    case 'INT64':
    case 'UINT64':
      return jsonValuesToInt64(datatype, values, where, context);
    default: {
      const [min, max] = INTEGER_RANGES[datatype] as readonly [number, number];
      const out = allocateTypedArray(datatype, count);
      for (let i = 0; i < count; i++) {
        const value = values[i];
        if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
          throw elementError(where, i, `an integer in [${min}, ${max}]`, value);
        }
        out[i] = value;
      }
      return out;
    }
  }
}

function jsonValuesToInt64(
  datatype: 'INT64' | 'UINT64',
  values: readonly unknown[],
  where: string,
  context: JsonDecodeContext | undefined,
): TensorData {
  const count = values.length;
  const out = allocateTypedArray(datatype, count);
  const signed = datatype === 'INT64';
  const min = signed ? INT64_MIN : 0n;
  const max = signed ? INT64_MAX : UINT64_MAX;
  const expectation = `an integer in [${min}, ${max}]`;
  // Safe integers are written as two 32-bit halves, so no BigInt is allocated per element.
  const halves = HOST_IS_LITTLE_ENDIAN
    ? new Uint32Array(out.buffer, out.byteOffset, count * 2)
    : null;
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) throw elementError(where, i, expectation, value);
      if (halves !== null && Number.isSafeInteger(value)) {
        if (!signed && value < 0) throw elementError(where, i, expectation, value);
        halves[2 * i] = value >>> 0;
        halves[2 * i + 1] = Math.floor(value / TWO_POW_32) >>> 0;
        continue;
      }
      // Beyond 2^53 JSON.parse has already rounded; the caller re-parses exactly and checks then.
      if (!Number.isSafeInteger(value) && context !== undefined && !context.exact) {
        context.sawImpreciseInteger = true;
        continue;
      }
      const big = BigInt(value);
      if (big < min || big > max) throw elementError(where, i, expectation, value);
      out[i] = big;
    } else if (typeof value === 'bigint') {
      if (value < min || value > max) throw elementError(where, i, expectation, value);
      out[i] = value;
    } else {
      throw elementError(where, i, expectation, value);
    }
  }
  return out;
}

const NUMBER_PATTERN = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/**
 * A JSON parser that keeps integer literals beyond ±(2^53-1) exact, as bigint. Only used to
 * re-read a request whose INT64/UINT64 data JSON.parse rounded, so speed matters little.
 */
export function parseJsonExact(text: string): unknown {
  let position = 0;

  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${position}`);
  };
  const skipWhitespace = (): void => {
    while (position < text.length && WHITESPACE.has(text[position] as string)) position++;
  };
  const parseString = (): string => {
    const start = position;
    position++;
    while (position < text.length) {
      const char = text[position];
      if (char === '\\') position += 2;
      else if (char === '"') {
        position++;
        return JSON.parse(text.slice(start, position)) as string;
      } else position++;
    }
    return fail('Unterminated string');
  };
  const parseValue = (): unknown => {
    skipWhitespace();
    const char = text[position];
    if (char === '{') {
      position++;
      const object: Record<string, unknown> = {};
      skipWhitespace();
      if (text[position] === '}') {
        position++;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text[position] !== '"') fail('Expected a property name');
        const key = parseString();
        skipWhitespace();
        if (text[position] !== ':') fail("Expected ':'");
        position++;
        const value = parseValue();
        // Own property even for "__proto__", as JSON.parse does.
        Object.defineProperty(object, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
        skipWhitespace();
        if (text[position] === ',') position++;
        else if (text[position] === '}') {
          position++;
          return object;
        } else fail("Expected ',' or '}'");
      }
    }
    if (char === '[') {
      position++;
      const array: unknown[] = [];
      skipWhitespace();
      if (text[position] === ']') {
        position++;
        return array;
      }
      for (;;) {
        array.push(parseValue());
        skipWhitespace();
        if (text[position] === ',') position++;
        else if (text[position] === ']') {
          position++;
          return array;
        } else fail("Expected ',' or ']'");
      }
    }
    if (char === '"') return parseString();
    if (text.startsWith('true', position)) {
      position += 4;
      return true;
    }
    if (text.startsWith('false', position)) {
      position += 5;
      return false;
    }
    if (text.startsWith('null', position)) {
      position += 4;
      return null;
    }
    NUMBER_PATTERN.lastIndex = position;
    const match = NUMBER_PATTERN.exec(text);
    if (match === null) return fail('Unexpected token');
    position = NUMBER_PATTERN.lastIndex;
    const literal = match[0];
    const number = Number(literal);
    if (match[1] === undefined && match[2] === undefined && !Number.isSafeInteger(number)) {
      return BigInt(literal);
    }
    return number;
  };

  const value = parseValue();
  skipWhitespace();
  if (position !== text.length) fail('Unexpected data after JSON');
  return value;
}
