import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { clientIdentityOf, parseTrustedProxies, ProxyTrust, TrustProxyError } from './client-ip.js';

const trust = (spec: string) => new ProxyTrust(parseTrustedProxies(spec));

describe('parseTrustedProxies', () => {
  it('reads false, empty, addresses and CIDR ranges of both families', () => {
    expect(parseTrustedProxies('false')).toEqual([]);
    expect(parseTrustedProxies('')).toEqual([]);
    expect(parseTrustedProxies(' 10.0.0.0/8, 127.0.0.1 ,fd00::/8,::1')).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
      '::1',
    ]);
  });

  it('refuses true, garbage, bad prefix lengths and empty entries', () => {
    for (const bad of [
      'true',
      'ingress',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.0/8/1',
      '10.0.0.0/',
      '10.0.0.0/x',
      '10.0.0.0/8,,127.0.0.1',
      '300.1.1.1',
      'fe80::1%eth0',
    ]) {
      expect(() => parseTrustedProxies(bad), bad).toThrow(TrustProxyError);
    }
  });
});

describe('ProxyTrust.clientIp', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    const none = trust('false');
    expect(none.clientIp('203.0.113.9', '1.2.3.4')).toBe('203.0.113.9');
    expect(none.trusts('127.0.0.1')).toBe(false);
  });

  it('ignores X-Forwarded-For from an untrusted peer (a forged header)', () => {
    const t = trust('10.0.0.0/8');
    expect(t.clientIp('198.51.100.4', '1.2.3.4, 10.0.0.7')).toBe('198.51.100.4');
  });

  it('takes the first untrusted address walking from the right', () => {
    const t = trust('10.0.0.0/8,192.168.1.1');
    // client 203.0.113.5 → CDN-less chain: 192.168.1.1 (trusted LB) → 10.1.2.3 (ingress) → us
    expect(t.clientIp('10.1.2.3', '203.0.113.5, 192.168.1.1')).toBe('203.0.113.5');
    // whatever the client wrote itself (left of its own address) is not believed
    expect(t.clientIp('10.1.2.3', '6.6.6.6, 203.0.113.5, 192.168.1.1')).toBe('203.0.113.5');
    // a chain made only of trusted hops ends at the leftmost one
    expect(t.clientIp('10.1.2.3', '10.9.9.9, 10.0.0.1')).toBe('10.9.9.9');
    // no header: the trusted peer itself
    expect(t.clientIp('10.1.2.3', undefined)).toBe('10.1.2.3');
    // repeated headers arrive joined; blank entries are skipped
    expect(t.clientIp('10.1.2.3', ['203.0.113.5', ' , 10.0.0.1'])).toBe('203.0.113.5');
  });

  it('stops at a trusted hop that reports something other than an address', () => {
    const t = trust('10.0.0.0/8');
    expect(t.clientIp('10.1.2.3', 'not-an-ip')).toBe('10.1.2.3');
    expect(t.clientIp('10.1.2.3', '203.0.113.5, 10.0.0.9, <script>')).toBe('10.1.2.3');
    expect(t.clientIp('10.1.2.3', '1.2.3.4:5678')).toBe('10.1.2.3');
  });

  it('handles IPv6 peers, IPv6 ranges and IPv4-mapped addresses', () => {
    const t = trust('fd00::/8,127.0.0.1');
    expect(t.clientIp('fd12:3456::1', '2001:db8::42')).toBe('2001:db8::42');
    expect(t.clientIp('fd12:3456::1', '2001:db8::42, fdff::2')).toBe('2001:db8::42');
    expect(t.clientIp('fe80::1', '2001:db8::42')).toBe('fe80::1');
    // a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; both forms are the same peer
    expect(t.clientIp('::ffff:127.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    expect(t.clientIp('::ffff:203.0.113.1', '198.51.100.7')).toBe('203.0.113.1');
    expect(t.clientIp(undefined, '198.51.100.7')).toBe('unknown');
  });

  it('matches CIDR boundaries exactly', () => {
    const t = trust('10.0.0.0/30');
    expect(t.trusts('10.0.0.3')).toBe(true);
    expect(t.trusts('10.0.0.4')).toBe(false);
    expect(t.clientIp('10.0.0.4', '1.1.1.1')).toBe('10.0.0.4');
    expect(t.clientIp('10.0.0.2', '1.1.1.1')).toBe('1.1.1.1');
  });

  it("agrees with Fastify's request.ip for the same trusted list", async () => {
    const list = parseTrustedProxies('127.0.0.1,10.0.0.0/8');
    const proxies = new ProxyTrust(list);
    const app = Fastify({ trustProxy: (address) => proxies.trusts(address) });
    app.get('/', (request) => ({ fastify: request.ip, ours: proxies.of(request.raw) }));
    try {
      for (const [remoteAddress, xff] of [
        ['127.0.0.1', '203.0.113.5'],
        ['127.0.0.1', '6.6.6.6, 203.0.113.5, 10.0.0.1'],
        ['127.0.0.1', '10.2.2.2, 10.0.0.1'],
        ['198.51.100.1', '203.0.113.5'],
        ['127.0.0.1', '2001:db8::1, 10.0.0.1'],
        ['127.0.0.1', undefined],
      ] as const) {
        const response = await app.inject({
          url: '/',
          remoteAddress,
          headers: xff ? { 'x-forwarded-for': xff } : {},
        });
        const { fastify, ours } = response.json<{ fastify: string; ours: string }>();
        expect(ours, `${remoteAddress} ${xff}`).toBe(fastify);
      }
    } finally {
      await app.close();
    }
  });
});

describe('clientIdentityOf', () => {
  it('keeps IPv4 addresses and groups IPv6 addresses by their /64', () => {
    expect(clientIdentityOf('203.0.113.5')).toBe('203.0.113.5');
    expect(clientIdentityOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientIdentityOf('2001:DB8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientIdentityOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientIdentityOf('::1')).toBe('0:0:0:0::/64');
    expect(clientIdentityOf('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
  });
});
