/** What the console reads from an access token (never trusted for access: the gateway checks). */
export interface AccessClaims {
  sub: string;
  role: string;
  tenantId: string | null;
  /** Seconds since the epoch. */
  exp: number;
  iat?: number;
}

/** Decodes a JWT's payload without verifying it (for its expiry, role and tenant only). */
export function decodeAccessToken(token: string): AccessClaims | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as Partial<AccessClaims>;
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
    return {
      sub: claims.sub,
      role: typeof claims.role === 'string' ? claims.role : '',
      tenantId: typeof claims.tenantId === 'string' ? claims.tenantId : null,
      exp: claims.exp,
      ...(typeof claims.iat === 'number' && { iat: claims.iat }),
    };
  } catch {
    return undefined;
  }
}

/**
 * When to refresh a token that expires at `exp` (seconds) and was issued at `iat`: a minute
 * before it expires, or at 80 % of its life when it lives under five minutes, never sooner
 * than a second from now.
 */
export function refreshDelayMs(claims: AccessClaims, nowMs: number): number {
  const expMs = claims.exp * 1000;
  const lifeMs = claims.iat !== undefined ? expMs - claims.iat * 1000 : expMs - nowMs;
  const lead = lifeMs < 300_000 ? lifeMs * 0.2 : 60_000;
  return Math.max(1_000, expMs - lead - nowMs);
}
