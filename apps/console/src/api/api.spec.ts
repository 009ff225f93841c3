import { describe, expect, it } from 'vitest';
import { decodeAccessToken, refreshDelayMs } from './jwt';
import { ApiError, apiErrorOf, messageOf } from './problem';
import { SseParser } from './sse';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const token = (claims: Record<string, unknown>) =>
  `${base64url({ alg: 'HS256' })}.${base64url(claims)}.signature`;

describe('problem details', () => {
  it('reads RFC 9457 answers, the inference protocols’ {error} and anything else', () => {
    const problem = apiErrorOf({
      status: 409,
      contentType: 'application/problem+json',
      body: JSON.stringify({
        type: 'https://maas.dev/problems/conflict',
        title: 'Conflict',
        status: 409,
        detail: "label 'production' points at version 2",
        requestId: 'req-1',
      }),
      requestId: null,
      retryAfter: null,
    });
    expect(problem).toBeInstanceOf(ApiError);
    expect(problem.message).toBe("Conflict: label 'production' points at version 2");
    expect(problem.slug).toBe('conflict');
    expect(problem.requestId).toBe('req-1');

    const inference = apiErrorOf({
      status: 400,
      contentType: 'application/json',
      body: '{"error":"input \'input\' has shape [1,3], the model takes [-1,2]"}',
      requestId: 'req-2',
      retryAfter: null,
    });
    expect(inference.message).toBe(
      "Invalid request: input 'input' has shape [1,3], the model takes [-1,2]",
    );
    expect(inference.requestId).toBe('req-2');

    const limited = apiErrorOf({
      status: 429,
      contentType: 'text/html',
      body: '<html>busy</html>',
      requestId: null,
      retryAfter: '3',
    });
    expect(messageOf(limited)).toBe('Too many requests (retry in 3 s)');
    expect(messageOf(new TypeError('Failed to fetch'))).toMatch(/could not be reached/);
  });
});

describe('access tokens', () => {
  it('are read for their role, tenant and expiry', () => {
    expect(
      decodeAccessToken(token({ sub: 'u1', role: 'owner', tenantId: 't1', exp: 2000, iat: 1100 })),
    ).toEqual({ sub: 'u1', role: 'owner', tenantId: 't1', exp: 2000, iat: 1100 });
    expect(decodeAccessToken('not-a-token')).toBeUndefined();
    expect(decodeAccessToken(token({ role: 'owner' }))).toBeUndefined();
  });

  it('are refreshed a minute before they expire, or at 80 % of a short life', () => {
    const now = 1_000_000_000;
    const long = {
      sub: 'u',
      role: 'platform_admin',
      tenantId: null,
      iat: now / 1000,
      exp: now / 1000 + 900,
    };
    expect(refreshDelayMs(long, now)).toBe(840_000);
    const short = { ...long, exp: now / 1000 + 20 };
    expect(refreshDelayMs(short, now)).toBe(16_000);
    // Already due: soon, never in a tight loop.
    expect(refreshDelayMs({ ...long, exp: now / 1000 - 5 }, now)).toBe(1_000);
  });
});

describe('the event-stream parser', () => {
  it('splits events across arbitrary chunks and skips keep-alive comments', () => {
    const parser = new SseParser();
    const stream =
      ': training job events\n\nid: 7\nevent: progress\ndata: {"epoch":1,"loss":0.9}\n\n' +
      ': keep-alive\n\nid: 8\r\nevent: state\r\ndata: {"status":\r\ndata: "running"}\r\n\r\n' +
      'event: end\ndata: {"status":"succeeded"}\n\n';
    const messages = [];
    for (let i = 0; i < stream.length; i += 5)
      messages.push(...parser.feed(stream.slice(i, i + 5)));
    expect(messages).toEqual([
      { event: 'progress', data: '{"epoch":1,"loss":0.9}', id: '7' },
      { event: 'state', data: '{"status":\n"running"}', id: '8' },
      { event: 'end', data: '{"status":"succeeded"}' },
    ]);
    expect(parser.feed('event: partial\ndata: {}')).toEqual([]);
  });
});
