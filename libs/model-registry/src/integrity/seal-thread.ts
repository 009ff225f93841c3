import { randomBytes } from 'node:crypto';
import { envelopeHead, NONCE_BYTES } from './envelope.js';
import { batchesOf, LOWER_THIS_THREAD_PRIORITY, ThreadCalls } from './thread-calls.js';

/**
 * The thread's whole program (CommonJS, run with `eval`, like the unseal thread's): for each
 * stream, the sha256 of its plaintext and its AES-256-GCM ciphertext, batch by batch.
 */
const THREAD_PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createHash } = require('node:crypto');
// Sealing uploads is background work: below the event loop's CPU priority (as unsealing is).
${LOWER_THIS_THREAD_PRIORITY}
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
  if (kind === 'abort') {
    streams.delete(id);
    return;
  }
  // Opened on a thread that has died since: this one never saw it.
  if (!stream) return parentPort.postMessage({ id, lost: true });
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
  lost?: true;
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
  private readonly calls = new ThreadCalls<Reply>(THREAD_PROGRAM, 'sealing thread');

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
    const id = this.calls.nextId();
    const nonce = randomBytes(NONCE_BYTES);
    this.calls.post({ id, kind: 'open', key: dataKey, nonce, associatedData });
    let finished = false;
    try {
      yield envelopeHead(nonce);
      let inFlight: Promise<Reply> | undefined;
      const answerOf = async (call: Promise<Reply>): Promise<Reply> => {
        const reply = await call;
        if (reply.lost) throw new Error('the sealing thread stopped while it sealed this stream');
        return reply;
      };
      // Each batch a buffer of its own, handed over without a further copy.
      for await (const batch of batchesOf(body, SEAL_BATCH_BYTES)) {
        // One batch at the thread while this one was read: its answer first, then this one goes.
        if (inFlight) yield Buffer.from((await inFlight).out);
        const plaintext = batch.buffer as ArrayBuffer;
        inFlight = answerOf(this.calls.call({ id, kind: 'batch', plaintext }, [plaintext]));
        // (awaited once the next batch is read; a thread that dies meanwhile fails it then)
        inFlight.catch(() => undefined);
      }
      if (inFlight) yield Buffer.from((await inFlight).out);
      const last = await answerOf(this.calls.call({ id, kind: 'end' }));
      finished = true;
      done(last.sha256!);
      yield Buffer.from(last.out);
    } finally {
      this.calls.forget(id);
      // Stopped early (the body failed, the store refused it): the thread forgets the stream.
      if (!finished) this.calls.post({ id, kind: 'abort' });
    }
  }
}

/** The process's one SealThread. */
export const sealThread = new SealThread();
