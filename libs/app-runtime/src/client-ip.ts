import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Raised for a TRUST_PROXY entry that is neither an IP address nor a CIDR range. */
export class TrustProxyError extends Error {}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:10.1.2.3` (how a dual-stack socket reports an IPv4 peer) as `10.1.2.3`. */
function unmapped(address: string): string {
  const mapped = IPV4_MAPPED.exec(address);
  return mapped ? mapped[1]! : address;
}

/**
 * Parses TRUST_PROXY: `false` (or empty) trusts no proxy; otherwise a comma-separated list of
 * IP addresses and CIDR ranges (`10.0.0.0/8,127.0.0.1,fd00::/8`). Returns the entries, each
 * checked; `true` is refused, since trusting every hop lets any client choose its own address.
 */
export function parseTrustedProxies(spec: string): string[] {
  const trimmed = spec.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'false') return [];
  if (trimmed.toLowerCase() === 'true') {
    throw new TrustProxyError(
      "'true' would let any client pick its own IP; list the proxies' addresses or CIDRs",
    );
  }
  return trimmed.split(',').map((raw) => {
    const entry = raw.trim();
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const validBits =
      bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) >= 0 && Number(bits) <= max);
    if (!family || !validBits || extra !== undefined || address.includes('%')) {
      throw new TrustProxyError(`'${entry}' is not an IP address or a CIDR range`);
    }
    return entry;
  });
}

/**
 * Which peers are trusted proxies, and so who the client is. The client is the first address
 * not trusted when walking from the socket's peer leftwards through `X-Forwarded-For` (the
 * rightmost entries were written by our own proxies; everything to the left of the first
 * untrusted hop is whatever that hop claimed and is ignored). This is what Fastify's
 * `trustProxy` (proxy-addr) does with the same list; the gateway's inference hot path runs
 * ahead of Fastify and uses this class directly, so both paths see the same client. One
 * difference, on purpose: an entry that is not an IP address ends the walk at the trusted hop
 * that reported it, so the client IP is always an address.
 */
export class ProxyTrust {
  private readonly trusted = new BlockList();
  readonly enabled: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address = '', bits] = entry.split('/');
      const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.trusted.addAddress(address, type);
      else this.trusted.addSubnet(address, Number(bits), type);
    }
    this.enabled = entries.length > 0;
  }

  /** Whether `address` is one of the trusted proxies (false for anything not an address). */
  trusts(address: string | undefined): boolean {
    if (!this.enabled || !address) return false;
    const plain = unmapped(address);
    const family = isIP(plain);
    if (!family || plain.includes('%')) return false;
    return this.trusted.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** The client's address from the socket peer and the `X-Forwarded-For` header. */
  clientIp(remoteAddress: string | undefined, forwardedFor?: string | string[]): string {
    let client = unmapped(remoteAddress ?? '') || 'unknown';
    if (!this.trusts(client) || forwardedFor === undefined) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapped(hops[i]!.trim());
      if (hop === '') continue;
      if (!isIP(hop)) return client;
      client = hop;
      if (!this.trusts(hop)) return client;
    }
    return client;
  }

  /** The client's address for a raw Node request (what `request.clientIp` holds). */
  of(request: IncomingMessage): string {
    return this.clientIp(request.socket?.remoteAddress, request.headers['x-forwarded-for']);
  }
}

/** The eight 16-bit groups of an IPv6 address (valid input assumed; zone id ignored). */
function ipv6Groups(address: string): number[] {
  const [plain = ''] = address.split('%');
  const [head = '', tail] = plain.split('::');
  const parse = (part: string) => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        groups.push((a << 8) | b, (c << 8) | d);
      } else {
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The identity per-client limits count against: an IPv4 address as is, an IPv6 address by its
 * /64 (one subscriber's allocation; counting single IPv6 addresses would let a client rotate
 * through 2^64 of them).
 */
export function clientIdentityOf(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const groups = ipv6Groups(ip.toLowerCase());
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
