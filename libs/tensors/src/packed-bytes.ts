/**
 * BYTES tensors of at least this many elements cross between the worker's threads packed (the
 * codec thread's decoded inputs, the model threads' string outputs); smaller ones as they are.
 */
export const PACK_MIN_ELEMENTS = 1024;

/**
 * A BYTES tensor's elements packed into two buffers: every element's bytes one after another,
 * and where each ends. Held this way, a million strings are two objects, not a million: a
 * message between threads moves them without a per-element cost (a structured clone of
 * 2 M one-byte Buffers or strings took the receiving thread seconds), and the thread that needs
 * the elements (a model thread handing strings to onnxruntime, the codec thread writing an
 * answer) makes them there, off the worker's event loop. Strings are packed as UTF-8; an element
 * reads back as its bytes (`at`) or as UTF-8 text (`toStrings`), as a Buffer element would.
 */
export class PackedBytes {
  /** `ends[i]`: where element i's bytes end in `bytes` (element i starts at `ends[i - 1]`, or 0). */
  constructor(
    readonly bytes: Uint8Array,
    readonly ends: Uint32Array,
  ) {}

  get length(): number {
    return this.ends.length;
  }

  /** Packs `elements` (strings as UTF-8). */
  static of(elements: readonly (string | Uint8Array)[]): PackedBytes {
    const ends = new Uint32Array(elements.length);
    let total = 0;
    for (let i = 0; i < elements.length; i++) {
      const element = elements[i]!;
      total += typeof element === 'string' ? Buffer.byteLength(element) : element.byteLength;
      ends[i] = total;
    }
    const bytes = Buffer.allocUnsafeSlow(total);
    let at = 0;
    for (const element of elements) {
      at +=
        typeof element === 'string'
          ? bytes.write(element, at, 'utf8')
          : copyInto(bytes, element, at);
    }
    return new PackedBytes(new Uint8Array(bytes.buffer, 0, total), ends);
  }

  /**
   * A PackedBytes again from what a message between threads made of one (a plain object with
   * the same two buffers); anything else is returned as it is.
   */
  static revive(data: unknown): unknown {
    if (data instanceof PackedBytes || data === null || typeof data !== 'object') return data;
    const { bytes, ends } = data as { bytes?: unknown; ends?: unknown };
    return bytes instanceof Uint8Array && ends instanceof Uint32Array
      ? new PackedBytes(bytes, ends)
      : data;
  }

  /** Element `i`'s bytes (a view, not a copy). */
  at(i: number): Buffer {
    const start = i === 0 ? 0 : this.ends[i - 1]!;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, this.ends[i]! - start);
  }

  /** The elements as Buffers (views into `bytes`). */
  toBuffers(): Buffer[] {
    const out = new Array<Buffer>(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.at(i);
    return out;
  }

  /** The elements as UTF-8 text (what onnxruntime's string tensors and TF.js take). */
  toStrings(): string[] {
    const all = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const out = new Array<string>(this.length);
    let start = 0;
    for (let i = 0; i < out.length; i++) {
      const end = this.ends[i]!;
      out[i] = all.toString('utf8', start, end);
      start = end;
    }
    return out;
  }

  /** Elements [start, end) as a PackedBytes of their own (bytes shared, ends rebased). */
  slice(start: number, end: number): PackedBytes {
    const from = start === 0 ? 0 : this.ends[start - 1]!;
    const ends = this.ends.slice(start, end);
    for (let i = 0; i < ends.length; i++) ends[i]! -= from;
    const to = end === 0 ? 0 : this.ends[end - 1]!;
    return new PackedBytes(this.bytes.subarray(from, Math.max(from, to)), ends);
  }

  /** The buffers to transfer with it to another thread (each once). */
  transferables(): ArrayBuffer[] {
    const buffers = new Set<ArrayBuffer>();
    for (const view of [this.bytes, this.ends]) {
      // Only a buffer the view spans whole: a slice's would take the bytes of others with it.
      if (
        view.buffer instanceof ArrayBuffer &&
        view.byteOffset === 0 &&
        view.byteLength === view.buffer.byteLength
      ) {
        buffers.add(view.buffer);
      }
    }
    return [...buffers];
  }
}

function copyInto(target: Buffer, source: Uint8Array, at: number): number {
  target.set(source, at);
  return source.byteLength;
}
