import { randomBytes } from 'node:crypto';
import { WASM_BASE64 } from './wasm/json-numbers.wasm.js';

/**
 * Fast JSON decoding of tensor data: most of the cost of a JSON inference request is turning
 * hundreds of decimal numbers into JavaScript numbers (JSON.parse's strtod) only to copy them
 * into a typed array. Instead, each array of plain JSON numbers under a chosen key (`data` for
 * v2 requests; `instances`, `inputs` or an input's name for TF Serving), nested arrays allowed
 * when rectangular, is lifted out of the body before JSON.parse sees it: the WebAssembly scanner
 * (wasm/json-numbers.wat) checks it against JSON's number grammar and reads it as float32 (exactly
 * the values JSON.parse followed by a Float32Array store gives) with its shape, it is replaced
 * by a marker string, and JSON.parse reads the small remainder. The decoders then take FP32
 * runs as read and parse other datatypes' runs from their text.
 */

/** The byte span of one lifted array in the request body, its numbers and their shape. */
export interface DataRun {
  start: number;
  end: number;
  count: number;
  /** The nesting's dimensions (`[[1,2],[3,4]]` is [2, 2]). */
  shape: number[];
  /** The numbers as JSON.parse and a Float32Array store would give them. */
  float32: Float32Array;
}

export interface LiftedJson {
  /** The body's JSON text with each run replaced by a marker string. */
  text: string;
  runs: DataRun[];
}

/** Random per process: a client cannot send a string that reads as a marker. */
const MARKER = `\u0000maas-data-run:${randomBytes(8).toString('hex')}:`;

/** Which run a marker string stands for, or -1 for any other value. */
export function dataRunIndex(value: unknown): number {
  if (typeof value !== 'string' || !value.startsWith(MARKER)) return -1;
  return Number(value.slice(MARKER.length));
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN = 0x5b;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipWhitespace(bytes: Uint8Array, at: number, end: number): number {
  while (at < end && isWhitespace(bytes[at]!)) at++;
  return at;
}

/** Index of the quote closing the string whose content starts at `from`, or -1. */
function closingQuote(bytes: Buffer, from: number, end: number): number {
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0 || quote >= end) return -1;
    let backslashes = 0;
    for (let k = quote - 1; k >= from && bytes[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

interface JsonNumbersExports {
  memory: WebAssembly.Memory;
  count: WebAssembly.Global;
  rank: WebAssembly.Global;
  parseArray(at: number, end: number, out: number, shape: number): number;
}

/** Module memory: 10^0..10^329, then an array's shape (and scratch), then the JSON text. */
const POWERS_BYTES = 2640;
const SHAPE_BASE = POWERS_BYTES;
const TEXT_BASE = SHAPE_BASE + 256;

/** wasm/json-numbers.wat, instantiated once per process (or worker thread). */
class JsonNumbers {
  private readonly exports: JsonNumbersExports;
  private bytes: Uint8Array;

  constructor() {
    const module = new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'));
    const instance = new WebAssembly.Instance(module, {
      env: { exact: (start: number, end: number) => this.exact(start, end) },
    });
    this.exports = instance.exports as unknown as JsonNumbersExports;
    this.bytes = new Uint8Array(this.exports.memory.buffer);
    const powers = new Float64Array(this.exports.memory.buffer, 0, POWERS_BYTES / 8);
    for (let k = 0; k < powers.length; k++) powers[k] = Number(`1e${k}`);
  }

  /** Copies the JSON text in, with room after it for every number it could hold as float32. */
  load(text: Buffer, end: number): void {
    const needed = this.outBase(end) + 4 * (end / 2 + 2);
    const memory = this.exports.memory;
    if (memory.buffer.byteLength < needed) {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65_536));
    }
    this.bytes = new Uint8Array(memory.buffer);
    this.bytes.set(text.subarray(0, end), TEXT_BASE);
    this.bytes[TEXT_BASE + end] = 0;
  }

  /**
   * Reads the numeric array whose '[' is at `at` of the loaded text (of length `end`); undefined
   * when it is not one, or its nesting is not rectangular.
   */
  array(at: number, end: number): DataRun | undefined {
    const out = this.outBase(end);
    const after = this.exports.parseArray(TEXT_BASE + at, TEXT_BASE + end, out, SHAPE_BASE);
    if (after < 0) return undefined;
    const { buffer } = this.exports.memory;
    const count = this.exports.count.value as number;
    const shape = Array.from(new Int32Array(buffer, SHAPE_BASE, this.exports.rank.value as number));
    const float32 = new Float32Array(buffer, out, count).slice();
    return { start: at, end: after - TEXT_BASE, count, shape, float32 };
  }

  private outBase(end: number): number {
    return (TEXT_BASE + end + 1 + 7) & ~7;
  }

  /** |value| of the number text at [start, end) of memory, read exactly. */
  private exact(start: number, end: number): number {
    return Math.abs(Number(Buffer.from(this.bytes.subarray(start, end)).toString('latin1')));
  }
}

let jsonNumbers: JsonNumbers | undefined;

const DATA_KEY: ReadonlySet<string> = new Set(['data']);
/**
 * Larger JSON texts take the plain path: the module's memory (about three times the text)
 * never shrinks, so it stays within ~25 MiB.
 */
const MAX_LIFTED_BYTES = 8 * 1024 * 1024;

/**
 * Lifts every `"<key>": [numbers...]` (for the given keys; `data` by default) out of the JSON in
 * `bytes[0, end)`; undefined when there is none. Bytes are scanned outside strings only, so a
 * string that contains `"data": [...]` is left alone. Ill-formed JSON outside the runs stays in
 * the text for JSON.parse to reject; an array that is not rectangular stays too.
 */
export function liftDataRuns(
  bytes: Buffer,
  end: number,
  keys: ReadonlySet<string> = DATA_KEY,
): LiftedJson | undefined {
  if (end > MAX_LIFTED_BYTES) return undefined;
  // A body that does not hold any key as written (a binary request's header) has nothing to
  // lift: one search for each, instead of looking at every string it holds.
  if (!mentionsAnyKey(bytes, end, keys)) return undefined;
  // Most strings of a body are shorter than any key and need no lookup.
  const shortest = Math.min(...[...keys].map((key) => key.length));
  const runs: DataRun[] = [];
  let numbers: JsonNumbers | undefined;
  let text = '';
  let copied = 0;
  let at = 0;
  while (at < end) {
    const open = bytes.indexOf(QUOTE, at);
    if (open < 0 || open >= end) break;
    const close = closingQuote(bytes, open + 1, end);
    if (close < 0) return undefined;
    at = close + 1;
    const length = close - open - 1;
    if (length < shortest || !keys.has(bytes.toString('latin1', open + 1, close))) continue;
    let value = skipWhitespace(bytes, at, end);
    if (bytes[value] !== COLON) continue;
    value = skipWhitespace(bytes, value + 1, end);
    if (bytes[value] !== OPEN) continue;
    if (numbers === undefined) {
      numbers = jsonNumbers ??= new JsonNumbers();
      numbers.load(bytes, end);
    }
    const run = numbers.array(value, end);
    if (run === undefined) continue;
    text += bytes.toString('utf8', copied, value) + JSON.stringify(MARKER + runs.length);
    runs.push(run);
    copied = at = run.end;
  }
  if (runs.length === 0) return undefined;
  return { text: text + bytes.toString('utf8', copied, end), runs };
}

/** `"<key>"` of each key, as bytes, for the key sets seen so far. */
const quotedKeys = new WeakMap<ReadonlySet<string>, Buffer[]>();

/** Whether `bytes[0, end)` holds `"<key>"` for some key (the scan matches keys as written). */
function mentionsAnyKey(bytes: Buffer, end: number, keys: ReadonlySet<string>): boolean {
  let quoted = quotedKeys.get(keys);
  if (quoted === undefined) {
    quoted = [...keys].map((key) => Buffer.from(`"${key}"`, 'latin1'));
    quotedKeys.set(keys, quoted);
  }
  // Only the JSON part: a binary request's tensor bytes follow it.
  const text = end === bytes.length ? bytes : bytes.subarray(0, end);
  return quoted.some((key) => text.includes(key));
}

/** The runs lifted from one request body, and how many of them the decoder has consumed. */
export interface DataRunSource {
  bytes: Buffer;
  runs: DataRun[];
  used: number;
}
