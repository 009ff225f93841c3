/**
 * The worker link: the gateway's framed transport to inference workers, one persistent TCP
 * connection per worker carrying many requests at once (matched by id, answered in any order).
 * It replaces an HTTP exchange per request — header parsing, routing, a response object —
 * with a length-prefixed frame, and lets one socket write carry every frame queued in a tick.
 *
 * Frame (integers little-endian):
 *
 *   u32 length of what follows | u32 id | u8 kind | u32 meta length | meta (JSON) | body
 *
 * Requests (`infer`, `predict`) carry the caller's bytes untouched as the body; the worker
 * answers each with one `response` frame, or `refused` when it is draining and never touched the
 * request (the gateway then tries the next worker). A `load` frame (no body) asks the worker to
 * load the version its meta names without running it, so that the gateway can warm a replica
 * before it routes requests there; its `response` is 204 once the version is loaded.
 */
export const FrameKind = {
  infer: 1,
  predict: 2,
  load: 3,
  response: 16,
  refused: 17,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** What a request frame asks the worker to run: an Open Inference Protocol infer or a TF Serving predict. */
export type LinkCall = 'infer' | 'predict';

/** What a request frame asks of the worker: a call to run, or a version to `load`. */
export type LinkRequestKind = LinkCall | 'load';

/** What a request frame's kind asks for, if it names anything. */
export function callOf(kind: number): LinkRequestKind | undefined {
  if (kind === FrameKind.infer) return 'infer';
  if (kind === FrameKind.predict) return 'predict';
  return kind === FrameKind.load ? 'load' : undefined;
}

/** What a request frame's meta says. */
export interface LinkRequestMeta {
  /** Tenant the gateway authenticated the caller as. */
  tenant: string;
  model: string;
  version: number;
  /** The request id (x-request-id), for the worker's logs. */
  requestId: string;
  /** Inference-Header-Content-Length as the caller sent it (the worker validates it). */
  headerLength?: string;
}

/** What a response frame's meta says. */
export interface LinkResponseMeta {
  status: number;
  contentType: string;
  headerLength?: number;
  retryAfter?: string;
  /** Rows billed, and rows of the runtime call the request rode in. */
  rows?: number;
  batchRows?: number;
}

export interface Frame {
  id: number;
  kind: number;
  meta: Buffer;
  body: Buffer;
}

const PREFIX = 4 + 4 + 1 + 4;
/**
 * Frames larger than this are refused (the link carries bodies the gateway holds in memory).
 * Both ends read frames with this one constant; a reader that meets a larger length cannot
 * resynchronise and drops the whole connection, so no writer may ever produce one.
 */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/**
 * The largest body a frame may carry: MAX_FRAME_BYTES less room for the prefix and a response
 * meta (a few hundred bytes). The worker's MAX_RESPONSE_BYTES may not exceed it, so an answer
 * never brings the link down for every request multiplexed on it.
 */
export const MAX_LINK_BODY_BYTES = MAX_FRAME_BYTES - 64 * 1024;

/**
 * The head of a frame (length, id, kind, meta); its body follows in a separate write so the
 * caller's bytes are never copied.
 */
export function frameHead(id: number, kind: FrameKind, meta: object, bodyLength: number): Buffer {
  const json = JSON.stringify(meta);
  const metaLength = Buffer.byteLength(json);
  const head = Buffer.allocUnsafe(PREFIX + metaLength);
  head.writeUInt32LE(PREFIX - 4 + metaLength + bodyLength, 0);
  head.writeUInt32LE(id, 4);
  head.writeUInt8(kind, 8);
  head.writeUInt32LE(metaLength, 9);
  head.write(json, PREFIX, 'utf8');
  return head;
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Reassembles frames from a byte stream, however it is chunked. A frame that arrives whole in a
 * chunk is a view of that chunk (no copy). A frame longer than what has arrived gets a buffer of
 * its own as soon as its length is known, and each chunk is copied in as it arrives: the copy a
 * frame costs is spread over its chunks rather than made at once when its last chunk comes (one
 * `Buffer.concat` of a 14 MiB frame held this event loop for 7-19 ms, page faults included, and
 * every request multiplexed on the link with it).
 */
export class FrameReader {
  /** The frame being assembled, and how much of it has arrived. */
  private assembling: { buffer: Buffer; filled: number } | undefined;
  /** Up to 3 bytes of a length prefix cut by a chunk's end. */
  private prefix: Buffer = Buffer.alloc(0);

  /** Adds a chunk and returns the frames it completes. Throws FrameError on a corrupt stream. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let data = chunk;
    const assembling = this.assembling;
    if (assembling) {
      const take = Math.min(data.length, assembling.buffer.length - assembling.filled);
      data.copy(assembling.buffer, assembling.filled, 0, take);
      assembling.filled += take;
      if (assembling.filled < assembling.buffer.length) return frames;
      this.assembling = undefined;
      frames.push(frameAt(assembling.buffer, 0));
      data = data.subarray(take);
    }
    if (this.prefix.length > 0) {
      data = Buffer.concat([this.prefix, data]);
      this.prefix = Buffer.alloc(0);
    }
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32LE(offset);
      if (length < PREFIX - 4 || length > MAX_FRAME_BYTES) {
        throw new FrameError(`bad frame length ${length}`);
      }
      if (data.length - offset < 4 + length) {
        // Not all here yet: assembled in a buffer of its own (its bytes are written before the
        // frame is read, so none is left as the allocator found it).
        const buffer = Buffer.allocUnsafe(4 + length);
        data.copy(buffer, 0, offset);
        this.assembling = { buffer, filled: data.length - offset };
        return frames;
      }
      frames.push(frameAt(data, offset));
      offset += 4 + length;
    }
    // (A copy: a view would hold the whole chunk until the next one comes.)
    if (offset < data.length) this.prefix = Buffer.from(data.subarray(offset));
    return frames;
  }
}

/** The whole frame at `offset` of `data` (its length already checked against the data). */
function frameAt(data: Buffer, offset: number): Frame {
  const length = data.readUInt32LE(offset);
  const metaLength = data.readUInt32LE(offset + 9);
  if (PREFIX - 4 + metaLength > length) throw new FrameError('frame meta overruns frame');
  const metaStart = offset + PREFIX;
  return {
    id: data.readUInt32LE(offset + 4),
    kind: data.readUInt8(offset + 8),
    meta: data.subarray(metaStart, metaStart + metaLength),
    body: data.subarray(metaStart + metaLength, offset + 4 + length),
  };
}

export function parseMeta<T>(frame: Frame): T {
  try {
    return JSON.parse(frame.meta.toString('utf8')) as T;
  } catch {
    throw new FrameError('frame meta is not JSON');
  }
}
