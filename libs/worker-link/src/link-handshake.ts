import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';

/**
 * The worker link's handshake: mutual proof of WORKER_SECRET, once per connection, before any
 * frame (link-frames.ts) is read on either side. Fixed-size raw bytes, not frames, so that a
 * peer that has not proved itself can make the worker buffer at most GATEWAY_PROOF bytes.
 *
 *   worker  → gateway   "MAASLNK1" | worker nonce (32)
 *   gateway → worker    gateway nonce (32) | HMAC-SHA256(secret, GATEWAY_LABEL | wn | gn)
 *   worker  → gateway   HMAC-SHA256(secret, WORKER_LABEL | wn | gn)
 *
 * The worker checks the gateway's proof with timingSafeEqual and closes the connection on a
 * wrong one, on any byte past it, or when it does not come within the timeout. The gateway
 * checks the worker's answer the same way, so it never sends a tenant's request to a process
 * that merely took over a worker's address. Only then do frames flow; the link's frame format
 * and its hot path are unchanged.
 */
export const LINK_MAGIC = Buffer.from('MAASLNK1');
export const LINK_NONCE_BYTES = 32;
const MAC_BYTES = 32;
/** What the worker sends first, and what the gateway answers with. */
export const LINK_CHALLENGE_BYTES = LINK_MAGIC.length + LINK_NONCE_BYTES;
export const LINK_PROOF_BYTES = LINK_NONCE_BYTES + MAC_BYTES;
/** How long either side waits for the other's part of the handshake. */
export const LINK_HANDSHAKE_TIMEOUT_MS = 5000;

// Distinct labels: neither side's proof can be replayed as the other's, nor as an HTTP signature.
const GATEWAY_LABEL = 'maas worker link v1: gateway';
const WORKER_LABEL = 'maas worker link v1: worker';

/** Why a handshake failed (a metric label on the worker). */
export type HandshakeFailure = 'timeout' | 'bad_proof' | 'protocol' | 'closed';

export class LinkHandshakeError extends Error {
  constructor(
    readonly reason: HandshakeFailure,
    message: string,
  ) {
    super(message);
    this.name = 'LinkHandshakeError';
  }
}

export function linkProof(
  secret: string,
  side: 'gateway' | 'worker',
  workerNonce: Buffer,
  gatewayNonce: Buffer,
): Buffer {
  return createHmac('sha256', secret)
    .update(side === 'gateway' ? GATEWAY_LABEL : WORKER_LABEL)
    .update(workerNonce)
    .update(gatewayNonce)
    .digest();
}

/**
 * Collects exactly `expected` bytes from the socket, then calls `onBytes` synchronously (so the
 * frame reader the caller attaches next misses nothing). More bytes than expected before the
 * verdict, the socket closing, or the timeout fail the handshake and destroy the socket.
 */
function exchange(
  socket: Socket,
  timeoutMs: number,
  steps: { expected: number; onBytes: (bytes: Buffer) => void }[],
  done: (error?: LinkHandshakeError) => void,
): void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  let step = 0;
  let finished = false;
  const finish = (error?: LinkHandshakeError) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    if (error) socket.destroy();
    done(error);
  };
  const timer = setTimeout(
    () => finish(new LinkHandshakeError('timeout', 'link handshake timed out')),
    timeoutMs,
  );
  const onClose = () =>
    finish(new LinkHandshakeError('closed', 'connection closed during the link handshake'));
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    const current = steps[step]!;
    if (buffered > current.expected) {
      finish(new LinkHandshakeError('protocol', 'bytes past the link handshake'));
      return;
    }
    if (buffered < current.expected) return;
    const bytes = Buffer.concat(chunks);
    chunks = [];
    buffered = 0;
    try {
      current.onBytes(bytes);
    } catch (error) {
      finish(error as LinkHandshakeError);
      return;
    }
    if (++step === steps.length) finish();
  };
  socket.on('data', onData);
  socket.once('close', onClose);
}

/**
 * The worker's side, on a connection it just accepted: sends the challenge and calls `done`
 * once the gateway proved the secret (nothing else has been read), or with the reason it
 * failed (the socket is destroyed by then).
 */
export function acceptLinkHandshake(
  socket: Socket,
  secret: string,
  done: (error?: LinkHandshakeError) => void,
  timeoutMs = LINK_HANDSHAKE_TIMEOUT_MS,
): void {
  const workerNonce = randomBytes(LINK_NONCE_BYTES);
  exchange(
    socket,
    timeoutMs,
    [
      {
        expected: LINK_PROOF_BYTES,
        onBytes: (bytes) => {
          const gatewayNonce = bytes.subarray(0, LINK_NONCE_BYTES);
          const expected = linkProof(secret, 'gateway', workerNonce, gatewayNonce);
          if (!timingSafeEqual(bytes.subarray(LINK_NONCE_BYTES), expected)) {
            throw new LinkHandshakeError('bad_proof', 'wrong link handshake proof');
          }
          socket.write(linkProof(secret, 'worker', workerNonce, gatewayNonce));
        },
      },
    ],
    done,
  );
  socket.write(Buffer.concat([LINK_MAGIC, workerNonce]));
}

/**
 * The gateway's side, on a connection it just opened: answers the worker's challenge and
 * checks the worker's proof; `done` is called before any frame is written or read.
 */
export function openLinkHandshake(
  socket: Socket,
  secret: string,
  done: (error?: LinkHandshakeError) => void,
  timeoutMs = LINK_HANDSHAKE_TIMEOUT_MS,
): void {
  const gatewayNonce = randomBytes(LINK_NONCE_BYTES);
  let workerNonce: Buffer;
  exchange(
    socket,
    timeoutMs,
    [
      {
        expected: LINK_CHALLENGE_BYTES,
        onBytes: (bytes) => {
          if (!bytes.subarray(0, LINK_MAGIC.length).equals(LINK_MAGIC)) {
            throw new LinkHandshakeError('protocol', 'the peer is not a maas worker link');
          }
          workerNonce = bytes.subarray(LINK_MAGIC.length);
          socket.write(
            Buffer.concat([gatewayNonce, linkProof(secret, 'gateway', workerNonce, gatewayNonce)]),
          );
        },
      },
      {
        expected: MAC_BYTES,
        onBytes: (bytes) => {
          if (!timingSafeEqual(bytes, linkProof(secret, 'worker', workerNonce, gatewayNonce))) {
            throw new LinkHandshakeError('bad_proof', 'the worker did not prove WORKER_SECRET');
          }
        },
      },
    ],
    done,
  );
}
