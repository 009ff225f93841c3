import { describe, expect, it } from 'vitest';
import {
  SIGNATURE_WINDOW_MS,
  type SignedRequest,
  signWorkerRequest,
  verifyWorkerRequest,
} from './request-signature.js';

const SECRET = 'signature-spec-secret-0123456789abcdef';
const request: SignedRequest = {
  method: 'POST',
  path: '/v2/models/m/versions/1/infer',
  requestId: 'req-1',
  tenant: 'tenant-a',
};
const NOW = 1_700_000_000_000;

describe('worker request signatures', () => {
  it('verifies its own signature within the window, either side of the clock', () => {
    const header = signWorkerRequest(SECRET, request, NOW);
    expect(header).toMatch(/^t=1700000000000,v1=[0-9a-f]{64}$/);
    expect(verifyWorkerRequest(SECRET, header, request, NOW)).toBe('ok');
    expect(verifyWorkerRequest(SECRET, header, request, NOW + SIGNATURE_WINDOW_MS)).toBe('ok');
    expect(verifyWorkerRequest(SECRET, header, request, NOW - SIGNATURE_WINDOW_MS)).toBe('ok');
  });

  it('refuses it past the window, and one from the future', () => {
    const header = signWorkerRequest(SECRET, request, NOW);
    expect(verifyWorkerRequest(SECRET, header, request, NOW + SIGNATURE_WINDOW_MS + 1)).toBe(
      'expired',
    );
    expect(verifyWorkerRequest(SECRET, header, request, NOW - SIGNATURE_WINDOW_MS - 1)).toBe(
      'expired',
    );
  });

  it('binds the secret, method, path, request id and tenant', () => {
    const header = signWorkerRequest(SECRET, request, NOW);
    const changed: SignedRequest[] = [
      { ...request, method: 'GET' },
      { ...request, path: '/v2/models/other/versions/1/infer' },
      { ...request, path: '/v2/models/m/versions/2/infer' },
      { ...request, requestId: 'req-2' },
      { ...request, tenant: 'tenant-b' },
    ];
    for (const other of changed) {
      expect(verifyWorkerRequest(SECRET, header, other, NOW), JSON.stringify(other)).toBe(
        'mismatch',
      );
    }
    expect(verifyWorkerRequest(`${SECRET}x`, header, request, NOW)).toBe('mismatch');
    // The time is covered too: moving it forward breaks the signature.
    const moved = header.replace('t=1700000000000', 't=1700000000001');
    expect(verifyWorkerRequest(SECRET, moved, request, NOW)).toBe('mismatch');
  });

  it('names a missing or malformed header', () => {
    expect(verifyWorkerRequest(SECRET, undefined, request, NOW)).toBe('missing');
    for (const bad of [
      '',
      'v1=abc',
      `t=${NOW},v1=${'g'.repeat(64)}`,
      `t=${NOW},v1=ab`,
      'x'.repeat(5000),
    ]) {
      expect(verifyWorkerRequest(SECRET, bad, request, NOW), bad.slice(0, 20)).toBe('malformed');
    }
    const header = signWorkerRequest(SECRET, request, NOW);
    expect(verifyWorkerRequest(SECRET, [header, header], request, NOW)).toBe('malformed');
  });
});
