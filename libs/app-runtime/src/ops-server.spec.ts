import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadinessFailure } from './health.js';
import { OpsServer } from './ops-server.js';

describe('OpsServer', () => {
  const servers: OpsServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  async function start(ready: { ok: boolean }) {
    const registry = new Registry();
    new Counter({ name: 'ops_spec_total', help: 'a series', registers: [registry] }).inc(3);
    const server = new OpsServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      checks: [
        { name: 'db', check: async () => undefined },
        {
          name: 'serving',
          check: async () => {
            if (!ready.ok) throw new ReadinessFailure('not listening');
          },
        },
      ],
    });
    servers.push(server);
    const port = await server.listen();
    expect(port).toBe(server.port);
    expect(port).toBeGreaterThan(0);
    return `http://127.0.0.1:${port}`;
  }

  it('answers /healthz, /metrics and /readyz, 503 naming a failing check', async () => {
    const ready = { ok: false };
    const url = await start(ready);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await fetch(`${url}/metrics?x=1`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    expect(await metrics.text()).toMatch(/^ops_spec_total 3$/m);

    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: 'unavailable',
      checks: { db: 'ok', serving: 'not listening' },
    });
    ready.ok = true;
    const isReady = await fetch(`${url}/readyz`);
    expect(isReady.status).toBe(200);
    expect(await isReady.json()).toEqual({ status: 'ok', checks: { db: 'ok', serving: 'ok' } });
  });

  it('answers /readyz 200 degraded, naming it, when only a check that is not required fails', async () => {
    const registry = new Registry();
    const redis = { up: true };
    const server = new OpsServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      checks: [
        {
          name: 'postgres',
          required: false,
          check: async () => {
            throw new Error('connection refused');
          },
        },
        {
          name: 'redis',
          check: async () => {
            if (!redis.up) throw new Error('redis down');
          },
        },
      ],
    });
    servers.push(server);
    const url = `http://127.0.0.1:${await server.listen()}`;
    const degraded = await fetch(`${url}/readyz`);
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toEqual({
      status: 'degraded',
      checks: { postgres: 'down', redis: 'ok' },
    });
    redis.up = false;
    const down = await fetch(`${url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      status: 'unavailable',
      checks: { postgres: 'down', redis: 'down' },
    });
  });

  it('serves nothing else: 404 for other paths, 405 for other methods', async () => {
    const url = await start({ ok: true });
    for (const path of ['/', '/v2/models/m/versions/1/infer', '/metricsx', '/healthz/']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(404);
    }
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x'.repeat(10_000) });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});
