import { describe, expect, it } from 'vitest';
import { generateApiKey, parseApiKey, secretMatches } from './api-key.codec.js';

describe('api key codec', () => {
  it('generates keys whose secret matches the stored hash and nothing else', () => {
    const { key, prefix, secretHash } = generateApiKey();
    expect(key.startsWith(`${prefix}_`)).toBe(true);
    const parsed = parseApiKey(key);
    expect(parsed?.prefix).toBe(prefix);
    expect(secretMatches(parsed!.secret, secretHash)).toBe(true);
    expect(
      secretMatches(
        parsed!.secret.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')),
        secretHash,
      ),
    ).toBe(false);
    expect(secretHash).not.toContain(parsed!.secret);
  });

  it('never repeats and rejects malformed keys', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey().key));
    expect(keys.size).toBe(200);
    expect(parseApiKey('maas_live_short_x')).toBeNull();
    expect(parseApiKey('Bearer nonsense')).toBeNull();
  });
});
