import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { buildGemmModel } from '@maas/onnx';
import {
  adminToken,
  createTenantWithKey,
  startTestPlatform,
  type TestPlatform,
  uploadModelVersion,
} from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './serving-helpers.js';

// The gateway's edge against a real gateway: client IPs behind a trusted proxy (the test
// poses as its clients with X-Forwarded-For, from 127.0.0.1, the one trusted proxy), login
// protection, the per-IP budget of unauthenticated requests, and the bounded API-key cache.

const LIMITS = {
  TRUST_PROXY: '127.0.0.1',
  // A found key stays fresh for the whole file: any database read of it would be a miss.
  API_KEY_CACHE_MS: '600000',
  API_KEY_NEGATIVE_CACHE_ENTRIES: '64',
  UNAUTHENTICATED_REQUESTS_PER_SECOND: '1',
  UNAUTHENTICATED_BURST: '20',
  LOGIN_ATTEMPTS_PER_IP: '30',
  LOGIN_FAILURES_BEFORE_DELAY: '5',
  LOGIN_DELAY_BASE_SECONDS: '1',
  LOGIN_MAX_DELAY_SECONDS: '60',
  LOGIN_ATTEMPTS_PER_ACCOUNT: '10',
  // The documented bound for a new IP with the right password once an attack stops.
  LOGIN_ACCOUNT_MAX_DELAY_SECONDS: '3',
};

const INFER_BODY = JSON.stringify({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [3, 4] }],
});
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomText = (n: number) =>
  Array.from(randomBytes(n), (b) => ALPHABET[b % ALPHABET.length]).join('');
/** A made-up key of the right shape: it passes parsing and would need a database lookup. */
const randomKey = () => `maas_live_${randomText(12)}_${randomText(40)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('gateway edge', () => {
  let platform: TestPlatform;
  let key: string;
  let tenantId: string;
  let token: string;
  let port: number;
  // Keep-alive connections, at most 20 at once per source address.
  const agents = new Map<string, http.Agent>();

  function send(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string; from?: string } = {},
  ): Promise<Answer> {
    const from = options.from ?? '127.0.0.1';
    let agent = agents.get(from);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
      agents.set(from, agent);
    }
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent,
          localAddress: from,
          headers: {
            ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}),
            ...options.headers,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode!,
              headers: response.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Runs `count` requests, `concurrency` at a time; answers in request order. */
  async function many(count: number, concurrency: number, one: (i: number) => Promise<Answer>) {
    const answers: Answer[] = new Array<Answer>(count);
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          answers[i] = await one(i);
        }
      }),
    );
    return answers;
  }

  const login = (email: string, password: string, as: string, from?: string) =>
    send('POST', '/api/auth/login', {
      body: JSON.stringify({ email, password }),
      headers: { 'x-forwarded-for': as },
      from,
    });

  const metric = (name: string, labels = '') => metricValue(platform.gateway.url, name, labels);

  async function auditIpsOf(action: string): Promise<(string | null)[]> {
    const answer = await send('GET', `/api/admin/audit-log?action=${action}&limit=100`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(answer.status).toBe(200);
    return (JSON.parse(answer.body) as { items: { ip: string | null }[] }).items.map((i) => i.ip);
  }

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { gateway: LIMITS } });
    port = platform.gateway.port;
    token = await adminToken(platform);
    ({ key, tenantId } = await createTenantWithKey(platform, 'edge', { token }));
    await uploadModelVersion(
      platform,
      key,
      'lin',
      buildGemmModel({
        weights: [
          [1, 0],
          [0, 1],
        ],
        bias: [0, 0],
      }),
    );
  });

  afterAll(async () => {
    for (const agent of agents.values()) agent.destroy();
    await platform?.stop();
  });

  it('keeps the admin in from a known IP through 48 failed logins from other IPs', async () => {
    const { email, password } = platform.admin;
    const KNOWN = '198.51.100.10';
    expect((await login(email, password, KNOWN)).status).toBe(200);

    const attackers = ['203.0.113.11', '203.0.113.12', '203.0.113.13', '203.0.113.14'];
    const started = Date.now();
    const byAttacker = await Promise.all(
      attackers.map(async (ip) => {
        const answers: Answer[] = [];
        for (let i = 0; i < 12; i++) answers.push(await login(email, `guess-${ip}-${i}`, ip));
        return answers;
      }),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const answers = byAttacker.flat();
    expect(answers).toHaveLength(48);
    expect(answers.every((a) => a.status === 401 || a.status === 429)).toBe(true);
    // Every attacking IP was held back, with a problem document and a Retry-After.
    for (const answers of byAttacker) {
      expect(answers.some((a) => a.status === 429)).toBe(true);
    }
    const unauthorized = answers.filter((a) => a.status === 401).length;
    // 10 free failures from unknown IPs, then at most one per second of account-wide delay.
    expect(unauthorized).toBeGreaterThanOrEqual(10);
    expect(unauthorized).toBeLessThanOrEqual(10 + Math.ceil(elapsedS));
    for (const refused of answers.filter((a) => a.status === 429)) {
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(JSON.parse(refused.body)).toMatchObject({
        type: 'https://maas.dev/problems/login-attempts-exceeded',
        status: 429,
      });
    }

    // The admin's usual IP: in at once.
    const admin = await login(email, password, KNOWN);
    expect(admin.status, admin.body).toBe(200);
    expect(JSON.parse(admin.body)).toHaveProperty('accessToken');
    // An attacker's IP, still guessing, is still held back: its delay may have run out while
    // the admin logged in (a slow machine), but the guess right after a failure never passes.
    let again = await login(email, 'one-more-guess', attackers[0]!);
    if (again.status === 401) again = await login(email, 'and-another', attackers[0]!);
    expect(again.status).toBe(429);

    // A new IP with the right password gets in within LOGIN_ACCOUNT_MAX_DELAY_SECONDS.
    const FRESH = '192.0.2.77';
    let fresh = await login(email, password, FRESH);
    if (fresh.status === 429) {
      const retryAfter = Number(fresh.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3);
      await sleep(retryAfter * 1000);
      fresh = await login(email, password, FRESH);
    }
    expect(fresh.status, fresh.body).toBe(200);

    // The audit log records the client behind the proxy, never the proxy.
    const ips = await auditIpsOf('auth.login');
    expect(ips).toContain(KNOWN);
    expect(ips).toContain(FRESH);
    expect(await metric('maas_login_throttled_total', 'reason="account"')).toBeGreaterThan(0);
  }, 60_000);

  it('limits login attempts per IP across accounts', async () => {
    const SPRAYER = '203.0.113.30';
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      statuses.push((await login(`nobody-${i}@edge.test`, 'password-1', SPRAYER)).status);
    }
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
    expect(statuses[30]).toBe(429);
    // Another client is not affected.
    expect((await login('nobody-0@edge.test', 'password-1', '203.0.113.31')).status).toBe(401);
  });

  it('spends 10,000 random keys from one IP against its budget; the valid key stays cached', async () => {
    const FLOODER = '203.0.113.50';
    const asFlooder = { 'x-forwarded-for': FLOODER };
    const valid = async (i: number) =>
      i % 2 === 0
        ? send('POST', '/v2/models/lin/infer', {
            headers: { ...asFlooder, 'x-api-key': key },
            body: INFER_BODY,
          })
        : send('GET', '/api/models', { headers: { ...asFlooder, 'x-api-key': key } });
    // Warm: the key is cached (found once, when the tenant first used it).
    expect((await valid(0)).status).toBe(200);
    expect((await valid(1)).status).toBe(200);
    const foundBefore = await metric('maas_api_key_db_lookups_total', 'found="true"');
    const notFoundBefore = await metric('maas_api_key_db_lookups_total', 'found="false"');
    const hitsBefore = await metric('maas_api_key_cache_lookups_total', 'result="hit"');
    const rejectedBefore = await metric('maas_unauthenticated_rejections_total');
    expect(foundBefore).toBeGreaterThanOrEqual(1);

    const FLOOD = 10_000;
    const isValid = (i: number) => i % 500 === 250;
    const started = Date.now();
    const answers = await many(FLOOD, 20, (i) => {
      if (isValid(i)) return valid(i);
      // Most well-formed; some malformed or missing (those cost no lookup, but pay too).
      const headers: Record<string, string> =
        i % 10 === 3 ? {} : { 'x-api-key': i % 10 === 7 ? randomText(30) : randomKey() };
      return i % 2 === 0
        ? send('POST', '/v2/models/lin/infer', {
            headers: { ...asFlooder, ...headers },
            body: INFER_BODY,
          })
        : send('GET', '/api/models', { headers: { ...asFlooder, ...headers } });
    });
    const elapsedS = (Date.now() - started) / 1000;

    const validAnswers = answers.filter((_, i) => isValid(i));
    const floodAnswers = answers.filter((_, i) => !isValid(i));
    expect(validAnswers.map((a) => a.status)).toEqual(Array(validAnswers.length).fill(200));
    const unauthorized = floodAnswers.filter((a) => a.status === 401).length;
    const limited = floodAnswers.filter((a) => a.status === 429);
    expect(unauthorized + limited.length).toBe(floodAnswers.length);
    // The budget: a burst of 20, then 1 per second.
    expect(unauthorized).toBeGreaterThanOrEqual(20);
    expect(unauthorized).toBeLessThanOrEqual(20 + Math.ceil(elapsedS));
    for (const refused of limited.slice(0, 50)) {
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // Each protocol's error shape: {"error"} on /v2, problem+json on /api.
    const v2Refused = answers.find((a, i) => i % 2 === 0 && a.status === 429)!;
    expect(JSON.parse(v2Refused.body)).toEqual({
      error: 'too many unauthenticated requests from this address',
    });
    const apiRefused = answers.find((a, i) => i % 2 === 1 && a.status === 429)!;
    expect(JSON.parse(apiRefused.body)).toMatchObject({
      type: 'https://maas.dev/problems/unauthenticated-requests-exceeded',
      status: 429,
    });
    expect((await metric('maas_unauthenticated_rejections_total')) - rejectedBefore).toBe(
      limited.length,
    );

    // Afterwards the valid key still answers, on both paths, from the cache.
    expect((await valid(0)).status).toBe(200);
    expect((await valid(1)).status).toBe(200);
    // Not evicted: no lookup of a found key reached PostgreSQL during or after the flood.
    expect(await metric('maas_api_key_db_lookups_total', 'found="true"')).toBe(foundBefore);
    expect((await metric('maas_api_key_cache_lookups_total', 'result="hit"')) - hitsBefore).toBe(
      validAnswers.length + 2,
    );
    // Only random keys the budget admitted were looked up; the negative cache stayed bounded.
    const notFound =
      (await metric('maas_api_key_db_lookups_total', 'found="false"')) - notFoundBefore;
    expect(notFound).toBeGreaterThan(0);
    expect(notFound).toBeLessThanOrEqual(unauthorized);
    expect(await metric('maas_api_key_cache_entries', 'cache="unknown"')).toBeLessThanOrEqual(64);
    expect(await metric('maas_api_key_cache_entries', 'cache="found"')).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('limits an untrusted peer as its real IP, whatever X-Forwarded-For it forges', async () => {
    const UNTRUSTED = '127.0.0.2';
    const started = Date.now();
    const answers = await many(60, 5, (i) =>
      send('GET', '/api/models', {
        from: UNTRUSTED,
        headers: { 'x-api-key': randomKey(), 'x-forwarded-for': `198.18.${i >> 8}.${i & 255}` },
      }),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const unauthorized = answers.filter((a) => a.status === 401).length;
    // Were the forged addresses believed, each would have had a budget of its own: no 429.
    expect(unauthorized).toBeLessThanOrEqual(20 + Math.ceil(elapsedS));
    expect(answers.filter((a) => a.status === 429).length).toBe(60 - unauthorized);

    // The audit log, too, records the peer rather than what it claimed.
    const member = { email: 'member@edge.test', password: `pw-${randomText(16)}` };
    const created = await send('POST', `/api/admin/tenants/${tenantId}/users`, {
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...member, role: 'viewer' }),
    });
    expect(created.status, created.body).toBe(201);
    const forged = await login(member.email, member.password, '198.51.100.10', UNTRUSTED);
    expect(forged.status, forged.body).toBe(200);
    const ips = await auditIpsOf('auth.login');
    expect(ips[0]).toBe(UNTRUSTED);
  });
});
