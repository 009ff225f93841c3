import { posix } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createGunzip, createInflateRaw } from 'node:zlib';
import tarStream from 'tar-stream';
import { InvalidModelError, printable, ValidationLimitError } from './validation-errors.js';

const MiB = 1024 * 1024;

/**
 * How far an archive may inflate: at most `maxRatio` times its compressed size and never past
 * `maxBytes` (the gateway's MAX_UNPACK_RATIO and MAX_UNPACKED_BYTES). Counted on the bytes the
 * decompressor actually produces, never on sizes the archive declares.
 */
export interface UnpackLimits {
  /** Unpacked bytes per compressed byte; undefined: only `maxBytes` applies. */
  maxRatio?: number;
  maxBytes: number;
}

/** The most any archive may unpack to, whatever the configuration (the old fixed limit). */
export const HARD_MAX_UNPACKED_BYTES = 2 * 1024 * MiB;

/**
 * What archives are read under when the caller says nothing: a worker loading a version that
 * was validated at upload, whose archive already passed the (tighter) upload limits.
 */
export const STORED_ARCHIVE_LIMITS: UnpackLimits = { maxBytes: HARD_MAX_UNPACKED_BYTES };

/** The gateway's defaults (MAX_UNPACK_RATIO, MAX_UNPACKED_BYTES). */
export const DEFAULT_UPLOAD_UNPACK_LIMITS: Required<UnpackLimits> = {
  maxRatio: 20,
  maxBytes: 1024 * MiB,
};

/** The ratio never bites below this: a few KiB of JSON may well compress 50×, harmlessly. */
const RATIO_FLOOR_BYTES = MiB;
/** A TF.js model is model.json and its shards (4 MiB each by default): a few hundred files. */
export const MAX_ARCHIVE_ENTRIES = 10_000;
/** Compressed input is fed 16 KiB at a time, so one step inflates at most ~16 MiB past the cap. */
const INPUT_SLICE = 16 * 1024;

/** The byte budget of one archive of `compressedBytes` under `limits`. */
export function unpackBudget(compressedBytes: number, limits: UnpackLimits): number {
  const byRatio =
    limits.maxRatio === undefined
      ? Infinity
      : Math.max(RATIO_FLOOR_BYTES, limits.maxRatio * compressedBytes);
  return Math.min(limits.maxBytes, byRatio, HARD_MAX_UNPACKED_BYTES);
}

function tooLarge(compressedBytes: number, limits: UnpackLimits): ValidationLimitError {
  const budget = unpackBudget(compressedBytes, limits);
  const rule =
    limits.maxRatio === undefined
      ? `archives may unpack to at most ${formatBytes(limits.maxBytes)}`
      : `archives may unpack to ${limits.maxRatio}× their compressed size (here ${formatBytes(
          compressedBytes,
        )}), at most ${formatBytes(Math.min(limits.maxBytes, HARD_MAX_UNPACKED_BYTES))}`;
  return new ValidationLimitError(
    'unpacked-size',
    `the archive unpacks to more than ${formatBytes(budget)}: ${rule}`,
  );
}

export function formatBytes(bytes: number): string {
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** The archive's bytes in small slices, so that a decompressor is never handed a huge input. */
function slices(bytes: Uint8Array): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.byteLength; offset += INPUT_SLICE) {
        yield Buffer.from(
          bytes.buffer,
          bytes.byteOffset + offset,
          Math.min(INPUT_SLICE, bytes.byteLength - offset),
        );
      }
    })(),
    { objectMode: false },
  );
}

/** Counts what passes through against the budget; fails the pipeline as soon as it is spent. */
class ByteBudget {
  used = 0;
  failure?: ValidationLimitError;

  constructor(
    readonly budget: number,
    private readonly error: () => ValidationLimitError,
  ) {}

  spend(bytes: number): void {
    this.used += bytes;
    if (this.used > this.budget) {
      this.failure ??= this.error();
      throw this.failure;
    }
  }

  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        try {
          this.spend(chunk.length);
          callback(null, chunk);
        } catch (error) {
          callback(error as Error);
        }
      },
    });
  }
}

/**
 * Unpacks a .tar.gz as a stream (gunzip runs on libuv's thread pool, never blocking the
 * event loop), stopping as soon as the inflated tar passes the budget. Returns regular files
 * by cleaned path.
 */
export async function unpackTarGz(
  bytes: Uint8Array,
  limits: UnpackLimits,
): Promise<Map<string, Buffer>> {
  const budget = new ByteBudget(unpackBudget(bytes.byteLength, limits), () =>
    tooLarge(bytes.byteLength, limits),
  );
  const files = new Map<string, Buffer>();
  const extract = tarStream.extract();
  const piping = pipeline(slices(bytes), createGunzip(), budget.counter(), extract);
  // Its failure also ends the loop below; it is awaited (and reported) after that.
  piping.catch(() => undefined);
  try {
    let entries = 0;
    for await (const entry of extract) {
      if (++entries > MAX_ARCHIVE_ENTRIES) {
        throw new InvalidModelError(`the archive has more than ${MAX_ARCHIVE_ENTRIES} entries`);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (entry.header.type === 'file') addFile(files, entry.header.name, Buffer.concat(chunks));
    }
    await piping;
  } catch (error) {
    if (budget.failure) throw budget.failure;
    if (error instanceof InvalidModelError) throw error;
    throw new InvalidModelError(`not a readable .tar.gz archive: ${(error as Error).message}`);
  }
  return files;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const STORED = 0;
const DEFLATED = 8;
const ZIP64_MARK = 0xffffffff;

/**
 * Unpacks a zip from its central directory, inflating entry by entry as a stream and counting
 * the bytes inflation actually yields: the sizes an entry declares are never trusted (nor used
 * to allocate). Every entry's CRC-32 is checked. Encrypted entries, methods other than store
 * and deflate, and zip64 archives (only needed past 4 GiB, beyond any upload) are refused.
 */
export async function unpackZip(
  bytes: Uint8Array,
  limits: UnpackLimits,
): Promise<Map<string, Buffer>> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const budget = new ByteBudget(unpackBudget(buffer.length, limits), () =>
    tooLarge(buffer.length, limits),
  );
  const files = new Map<string, Buffer>();
  for (const entry of centralDirectory(buffer)) {
    if (entry.name.endsWith('/')) continue;
    const data = entryData(buffer, entry);
    let content: Buffer;
    if (entry.method === STORED) {
      budget.spend(data.length);
      content = Buffer.from(data);
    } else {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          callback();
        },
      });
      try {
        await pipeline(slices(data), createInflateRaw(), budget.counter(), sink);
      } catch (error) {
        if (budget.failure) throw budget.failure;
        throw new InvalidModelError(
          `not a readable zip archive: entry '${printable(entry.name)}' does not inflate (${(error as Error).message})`,
        );
      }
      content = Buffer.concat(chunks);
    }
    if (crc32(content) !== entry.crc) {
      throw new InvalidModelError(
        `not a readable zip archive: entry '${printable(entry.name)}' fails its CRC-32 check`,
      );
    }
    addFile(files, entry.name, content);
  }
  return files;
}

interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  localOffset: number;
}

function malformedZip(what: string): InvalidModelError {
  return new InvalidModelError(`not a readable zip archive: ${what}`);
}

function centralDirectory(buffer: Buffer): ZipEntry[] {
  let eocd = -1;
  const earliest = Math.max(0, buffer.length - EOCD_SIZE - 0xffff);
  for (let at = buffer.length - EOCD_SIZE; at >= earliest; at--) {
    if (buffer.readUInt32LE(at) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw malformedZip('no end of central directory record');
  const count = buffer.readUInt16LE(eocd + 10);
  const size = buffer.readUInt32LE(eocd + 12);
  const offset = buffer.readUInt32LE(eocd + 16);
  if (count === 0xffff || size === ZIP64_MARK || offset === ZIP64_MARK) {
    throw malformedZip('zip64 archives are not supported; pack the model as a plain zip');
  }
  if (count > MAX_ARCHIVE_ENTRIES) {
    throw new InvalidModelError(`the archive has more than ${MAX_ARCHIVE_ENTRIES} entries`);
  }
  if (offset + size > eocd) throw malformedZip('the central directory lies outside the file');
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let index = 0; index < count; index++) {
    if (at + 46 > offset + size || buffer.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
      throw malformedZip(`central directory entry ${index} is malformed`);
    }
    const flags = buffer.readUInt16LE(at + 8);
    const method = buffer.readUInt16LE(at + 10);
    const crc = buffer.readUInt32LE(at + 16);
    const compressedSize = buffer.readUInt32LE(at + 20);
    const nameLength = buffer.readUInt16LE(at + 28);
    const extraLength = buffer.readUInt16LE(at + 30);
    const commentLength = buffer.readUInt16LE(at + 32);
    const localOffset = buffer.readUInt32LE(at + 42);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > offset + size) throw malformedZip(`central directory entry ${index} is malformed`);
    const name = buffer.toString('utf8', at + 46, at + 46 + nameLength);
    if (flags & 1) throw malformedZip(`entry '${printable(name)}' is encrypted`);
    if (compressedSize === ZIP64_MARK || localOffset === ZIP64_MARK) {
      throw malformedZip('zip64 archives are not supported; pack the model as a plain zip');
    }
    if (method !== STORED && method !== DEFLATED) {
      throw malformedZip(
        `entry '${printable(name)}' uses compression method ${method}; use deflate or store`,
      );
    }
    entries.push({ name, method, crc, compressedSize, localOffset });
    at = end;
  }
  return entries;
}

function entryData(buffer: Buffer, entry: ZipEntry): Buffer {
  const at = entry.localOffset;
  if (at + 30 > buffer.length || buffer.readUInt32LE(at) !== LOCAL_SIGNATURE) {
    throw malformedZip(`entry '${printable(entry.name)}' has no local header`);
  }
  const start = at + 30 + buffer.readUInt16LE(at + 26) + buffer.readUInt16LE(at + 28);
  const end = start + entry.compressedSize;
  if (end > buffer.length) throw malformedZip(`entry '${printable(entry.name)}' is truncated`);
  return buffer.subarray(start, end);
}

function addFile(files: Map<string, Buffer>, name: string, content: Buffer): void {
  const path = cleanPath(name);
  // One name, one content: whoever reads the archive later must see what was validated.
  if (files.has(path)) {
    throw new InvalidModelError(`the archive holds '${printable(path)}' more than once`);
  }
  files.set(path, content);
}

export function cleanPath(name: string): string {
  return posix
    .normalize(name.replace(/\\/g, '/'))
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '');
}
