import { fileURLToPath } from 'node:url';
import { DecryptionError, envelopeParts, TAMPERED_MESSAGE } from './envelope.js';
import { LOWER_THIS_THREAD_PRIORITY, ThreadCalls } from './thread-calls.js';

/**
 * The path of thread-gc.cjs (beside this file in src and in dist): `threadCollector()` gives a
 * thread its own gc(), for threads that load models to free a load's bytes at once.
 */
export const THREAD_GC_HELPER = fileURLToPath(new URL('./thread-gc.cjs', import.meta.url));

/**
 * The thread's whole program (CommonJS, run with `eval`, so it needs no build step and works
 * from sources and from dist alike): AES-256-GCM decryption when asked, the sha256 of the
 * plaintext when asked, the plaintext handed back without a copy (its ArrayBuffer transferred).
 */
const THREAD_PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { createDecipheriv, createHash } = require('node:crypto');
// The stored bytes of a load are garbage once its plaintext is handed back, but V8 frees
// memory outside its heap only when it collects, which this thread's small heap rarely
// prompts: a collection after each artifact (a few ms; loads are rare) frees them at once.
// (thread-gc.cjs: the model threads use the same.)
const collect = require(require('node:worker_threads').workerData.gcHelper).threadCollector();
// Loading is background work: below the event loop's CPU priority.
${LOWER_THIS_THREAD_PRIORITY}
// Each artifact is handled in a function of its own, so that once it returns nothing on this
// thread's stack still refers to its bytes and the collection after it can free them.
function unseal(message) {
  const { id, decrypt, hash } = message;
  let plaintext = Buffer.from(message.stored);
  delete message.stored;
  if (decrypt) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(decrypt.key), Buffer.from(decrypt.nonce));
      decipher.setAAD(Buffer.from(decrypt.associatedData));
      decipher.setAuthTag(Buffer.from(decrypt.tag));
      const out = decipher.update(plaintext.subarray(decrypt.start, decrypt.end));
      decipher.final();
      plaintext = out;
    } catch {
      parentPort.postMessage({ id, tampered: true });
      return;
    }
  }
  const sha256 = hash ? createHash('sha256').update(plaintext).digest('hex') : undefined;
  const whole = plaintext.byteOffset === 0 && plaintext.byteLength === plaintext.buffer.byteLength;
  const buffer = whole
    ? plaintext.buffer
    : plaintext.buffer.slice(plaintext.byteOffset, plaintext.byteOffset + plaintext.byteLength);
  parentPort.postMessage({ id, plaintext: buffer, sha256 }, [buffer]);
}
parentPort.on('message', (message) => {
  unseal(message);
  collect();
});
`;

/**
 * Whether `view` spans all of an ArrayBuffer of its own (not shared memory): that buffer can be
 * handed to a thread as it is, and takes nothing else along.
 */
export function ownsItsBuffer(
  view: ArrayBufferView,
): view is ArrayBufferView & { buffer: ArrayBuffer } {
  const { buffer, byteOffset, byteLength } = view;
  return buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength;
}

/**
 * `view`'s bytes as an ArrayBuffer to hand to a thread: its own buffer when it covers all of it
 * (transferred without a copy; the view reads as empty afterwards), else a copy (a view into a
 * pool or a larger buffer must not take its neighbours along, and shared memory cannot be
 * transferred).
 */
export function transferableBuffer(view: ArrayBufferView): ArrayBuffer {
  if (ownsItsBuffer(view)) return view.buffer;
  const { buffer, byteOffset, byteLength } = view;
  // Copied into memory that is not zero-filled first: the copy writes every byte of it, and a
  // zero-fill is a pass as long as the copy (a 14 MiB request body: ~3 ms more of the loop).
  const copy = Buffer.allocUnsafeSlow(byteLength);
  copy.set(new Uint8Array(buffer, byteOffset, byteLength));
  return copy.buffer as ArrayBuffer;
}

interface Reply {
  id: number;
  plaintext?: ArrayBuffer;
  sha256?: string;
  tampered?: true;
}

export interface Unsealed {
  plaintext: Buffer;
  /** sha256 (hex) of the plaintext, when asked for */
  sha256?: string;
}

/**
 * Decrypts and hashes model artifacts on a thread of their own, so that a worker loading a large
 * version cold (tens of MB: ~1 ms per MB of AES-GCM and ~1 ms per MB of sha256, plus the
 * collections their copies cause) keeps answering other tenants' requests meanwhile. The stored
 * bytes go to the thread and the plaintext comes back without a copy. One thread per process,
 * started on first use and not keeping the process alive; if it dies, what it held fails and
 * the next call starts another.
 */
export class UnsealThread {
  private readonly calls = new ThreadCalls<Reply>(THREAD_PROGRAM, 'artifact thread', {
    workerData: { gcHelper: THREAD_GC_HELPER },
  });

  /**
   * `stored` is handed to the thread: the caller must not use it afterwards (its memory is
   * transferred when it owns its ArrayBuffer, copied when it is a view into a larger one).
   * Rejects with DecryptionError for bytes that do not decrypt under `decrypt.key`.
   */
  async unseal(
    stored: Buffer,
    options: { decrypt?: { key: Buffer; associatedData: string }; hash: boolean },
  ): Promise<Unsealed> {
    const parts = options.decrypt ? envelopeParts(stored) : undefined;
    const buffer = transferableBuffer(stored);
    const reply = await this.calls.call(
      {
        id: this.calls.nextId(),
        stored: buffer,
        hash: options.hash,
        decrypt: parts && {
          key: options.decrypt!.key,
          associatedData: options.decrypt!.associatedData,
          nonce: parts.nonce,
          tag: parts.tag,
          start: parts.ciphertext[0],
          end: parts.ciphertext[1],
        },
      },
      [buffer],
    );
    if (reply.tampered) throw new DecryptionError(TAMPERED_MESSAGE);
    return { plaintext: Buffer.from(reply.plaintext!), sha256: reply.sha256 };
  }
}

/** The process's one UnsealThread. */
export const unsealThread = new UnsealThread();
