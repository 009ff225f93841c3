import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_PATTERN = /^(maas_live_[A-Za-z0-9]{12})_([A-Za-z0-9]{40})$/;

function randomString(length: number): string {
  // Rejection sampling keeps every character uniformly likely.
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

/** A new key: `maas_live_<12-char id>_<40-char secret>`; only the prefix and a hash are stored. */
export function generateApiKey(): { key: string; prefix: string; secretHash: string } {
  const prefix = `maas_live_${randomString(12)}`;
  const secret = randomString(40);
  return { key: `${prefix}_${secret}`, prefix, secretHash: hashSecret(secret) };
}

export function parseApiKey(key: string): { prefix: string; secret: string } | null {
  const match = KEY_PATTERN.exec(key);
  return match ? { prefix: match[1], secret: match[2] } : null;
}

// The secret has ~238 bits of entropy, so a fast hash is enough (no dictionary to guess from).
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, expectedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
