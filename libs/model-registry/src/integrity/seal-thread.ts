import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { envelopeHead, NONCE_BYTES } from './envelope.js';

/**
 * The thread's whole program (CommonJS, run with `eval`, like the unseal thread's): for each
 * stream, the sha256 of its plaintext and its AES-256-GCM ciphertext, batch by batch.
 */
const THREAD_PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createHash } = require('node:crypto');
// Sealing uploads is background work: below the event loop's CPU priority (as unsealing is).
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(tid, 10);
} catch {}
const streams = new Map();
const owned = (buffer) =>
  buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength
    ? buffer.buffer
    : buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
parentPort.on('message', (message) => {
  const { id, kind } = message;
  if (kind === 'open') {
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(message.key), Buffer.from(message.nonce));
    cipher.setAAD(Buffer.from(message.associatedData));
    streams.set(id, { cipher, hash: createHash('sha256') });
    return;
  }
  const stream = streams.get(id);
  if (!stream) return;
  if (kind === 'abort') {
    streams.delete(id);
    return;
  }
  if (kind === 'batch') {
    const plaintext = Buffer.from(message.plaintext);
    stream.hash.update(plaintext);
    const out = owned(stream.cipher.update(plaintext));
    parentPort.postMessage({ id, out }, [out]);
    return;
  }
  streams.delete(id);
  const out = owned(Buffer.concat([stream.cipher.final(), stream.cipher.getAuthTag()]));
  parentPort.postMessage({ id, out, sha256: stream.hash.digest('hex') }, [out]);
});
`;

/** Plaintext gathered before a batch goes to the thread: a round trip per MiB, not per chunk. */
export const SEAL_BATCH_BYTES = 1024 * 1024;

interface Reply {
  id: number;
  out: ArrayBuffer;
  sha256?: string;
}

/** A stream being sealed: its ciphertext as it comes, and its plaintext's sha256 at the end. */
export interface SealedStream {
  /** The artifact's bytes (the envelope: header, ciphertext, tag), as encryptStream makes them. */
  chunks: AsyncGenerator<Buffer>;
  /** The plaintext's sha256 (hex), once `chunks` has been read to its end. */
  sha256(): string;
}

/**
 * Hashes and encrypts uploads on a thread of their own: on the event loop, a 96 MiB upload's
 * sha256 and AES-GCM took ~60 % of the gateway's main thread while it streamed, and every other
 * request on that gateway queued behind the chunks (hostile-uploads: B's p99 2–3.5× its quiet
 * one). Plaintext goes over in batches of SEAL_BATCH_BYTES, one batch in flight while the next
 * is read, so memory stays at about two batches per upload. One thread per process, started on
 * first use and not keeping the process alive; if it dies, the streams it held fail and the next
 * one starts another.
 */
export class SealThread {
  private worker?: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (error: unknown) => void }
  >();
  private nextId = 0;

  /**
   * Seals `body` under `dataKey` with `associatedData` (the artifact's key), exactly as
   * encryptStream does (the same envelope, read back the same way). The body's chunks are
   * copied to the thread.
   */
  seal(body: AsyncIterable<Buffer>, dataKey: Buffer, associatedData: string): SealedStream {
    let sha256: string | undefined;
    const chunks = this.sealed(body, dataKey, associatedData, (digest) => (sha256 = digest));
    return {
      chunks,
      sha256: () => {
        if (sha256 === undefined) throw new Error('the sealed stream has not been read to its end');
        return sha256;
      },
    };
  }

  private async *sealed(
    body: AsyncIterable<Buffer>,
    dataKey: Buffer,
    associatedData: string,
    done: (sha256: string) => void,
  ): AsyncGenerator<Buffer> {
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    const nonce = randomBytes(NONCE_BYTES);
    const worker = this.thread();
    worker.postMessage({ id, kind: 'open', key: dataKey, nonce, associatedData });
    let finished = false;
    try {
      yield envelopeHead(nonce);
      let batch: Buffer[] = [];
      let batched = 0;
      let inFlight: Promise<Reply> | undefined;
      const send = (message: { id: number; kind: string }, plaintext?: Buffer[]) =>
        new Promise<Reply>((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
          if (plaintext === undefined) return worker.postMessage(message);
          // The batch's chunks joined into a buffer of its own, handed over without a further
          // copy (a chunk may still be someone's or a view into a larger buffer, and
          // Buffer.concat's result may be a slice of the shared pool: none is transferred).
          const joined = new Uint8Array(plaintext.reduce((sum, chunk) => sum + chunk.length, 0));
          let at = 0;
          for (const chunk of plaintext) {
            joined.set(chunk, at);
            at += chunk.length;
          }
          worker.postMessage({ ...message, plaintext: joined.buffer }, [joined.buffer]);
        });
      for await (const chunk of body) {
        if (chunk.length === 0) continue;
        batch.push(chunk);
        batched += chunk.length;
        if (batched < SEAL_BATCH_BYTES) continue;
        // One batch at the thread while this one was read: its answer first, then this one goes.
        if (inFlight) yield Buffer.from((await inFlight).out);
        inFlight = send({ id, kind: 'batch' }, batch);
        // (awaited once the next batch is read; a thread that dies meanwhile fails it then)
        inFlight.catch(() => undefined);
        batch = [];
        batched = 0;
      }
      if (inFlight) yield Buffer.from((await inFlight).out);
      if (batch.length > 0) yield Buffer.from((await send({ id, kind: 'batch' }, batch)).out);
      const last = await send({ id, kind: 'end' });
      finished = true;
      done(last.sha256!);
      yield Buffer.from(last.out);
    } finally {
      this.waiting.delete(id);
      // Stopped early (the body failed, the store refused it): the thread forgets the stream.
      if (!finished) worker.postMessage({ id, kind: 'abort' });
    }
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(THREAD_PROGRAM, { eval: true });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiting?.resolve(reply);
    });
    const fail = (error: unknown) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.waiting.values()) waiting.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the sealing thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

/** The process's one SealThread. */
export const sealThread = new SealThread();
