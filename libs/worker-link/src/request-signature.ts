import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signatures on the gateway's HTTP requests to inference workers (bodies over 1 MiB, and
 * INFERENCE_TRANSPORT=http): the worker answers 401 to a request without a valid one before it
 * reads the body.
 *
 *   x-maas-signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, LABEL \n t \n method \n path \n
 *                     x-request-id \n x-maas-tenant-id)>
 *
 * It binds the tenant, the route (model, version) and the request id to a time: a captured
 * header cannot be reused for another tenant or model, nor after SIGNATURE_WINDOW_MS. The body
 * is not covered (it streams through unread); the link (link-handshake.ts) is the transport
 * for everything the gateway holds in memory.
 */
export const SIGNATURE_HEADER = 'x-maas-signature';
/** How far a signature's time may be from the worker's clock, either way. */
export const SIGNATURE_WINDOW_MS = 30_000;

const LABEL = 'maas worker http v1';
const FORMAT = /^t=(\d{1,15}),v1=([0-9a-f]{64})$/;

/** What a signature covers; `requestId` and `tenant` are the headers' values ('' when absent). */
export interface SignedRequest {
  method: string;
  /** The request target as sent: path and query string. */
  path: string;
  requestId: string;
  tenant: string;
}

function mac(secret: string, time: string, request: SignedRequest): Buffer {
  return createHmac('sha256', secret)
    .update(
      `${LABEL}\n${time}\n${request.method.toUpperCase()}\n${request.path}\n${request.requestId}\n${request.tenant}`,
    )
    .digest();
}

/** The x-maas-signature header value for a request sent now. */
export function signWorkerRequest(
  secret: string,
  request: SignedRequest,
  now = Date.now(),
): string {
  const time = String(Math.floor(now));
  return `t=${time},v1=${mac(secret, time, request).toString('hex')}`;
}

export type SignatureVerdict = 'ok' | 'missing' | 'malformed' | 'expired' | 'mismatch';

/** Checks a request's x-maas-signature header (string, array or absent as Node gives it). */
export function verifyWorkerRequest(
  secret: string,
  header: string | string[] | undefined,
  request: SignedRequest,
  now = Date.now(),
): SignatureVerdict {
  if (header === undefined) return 'missing';
  const match = typeof header === 'string' ? FORMAT.exec(header) : null;
  if (!match) return 'malformed';
  const [, time, hex] = match as unknown as [string, string, string];
  if (Math.abs(now - Number(time)) > SIGNATURE_WINDOW_MS) return 'expired';
  return timingSafeEqual(Buffer.from(hex, 'hex'), mac(secret, time, request)) ? 'ok' : 'mismatch';
}
