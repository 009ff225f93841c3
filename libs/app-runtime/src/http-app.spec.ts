import { connect } from 'node:net';
import { Controller, Get, HttpException, Module, Post, Query } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, interceptRequests } from './http-app.js';
import { createLogger } from './logger.js';
import { MetricsModule } from './metrics.js';

@Controller()
class RefusingController {
  /** Refuses at once, without reading the body (as a rate limit or an upload slot does). */
  @Post('refuse')
  refuse(): never {
    throw new HttpException('no', 429);
  }
}

@Module({
  imports: [MetricsModule.forRoot('http-app-spec', { controller: false })],
  controllers: [RefusingController],
})
class RefusingModule {}

/** What came back on a new connection after `request`, and whether the server ended it within `waitMs`. */
function exchange(
  port: number,
  request: string,
  waitMs: number,
): Promise<{ answer: string; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, ended: false });
    }, waitMs);
    socket.on('data', (data) => (answer += String(data)));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ answer, ended: true });
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

@Controller()
class SlowController {
  /** Answers after `ms` milliseconds, as a long inference or a large upload's checks do. */
  @Get('slow')
  async slow(@Query('ms') ms: string): Promise<{ waited: number }> {
    await new Promise((resolve) => setTimeout(resolve, Number(ms)));
    return { waited: Number(ms) };
  }

  /** Reads its whole body before answering. */
  @Post('upload')
  upload(): { ok: true } {
    return { ok: true };
  }
}

@Module({
  imports: [MetricsModule.forRoot('http-app-idle-spec', { controller: false })],
  controllers: [SlowController],
})
class SlowModule {}

const REFUSED_UPLOAD =
  'POST /refuse HTTP/1.1\r\nHost: x\r\ncontent-type: application/octet-stream\r\n';

describe('createHttpApp', () => {
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    app = await createHttpApp(RefusingModule, {
      logger: createLogger({ name: 'http-app-spec', level: 'silent' }),
      // Long idle and keep-alive timeouts: within the test only the linger can end a connection.
      timeouts: { idleMs: 120_000, keepAliveMs: 120_000, lingerMs: 300 },
    });
    app
      .getHttpAdapter()
      .getInstance()
      .addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('cuts a connection refused before its body arrived once the rest does not come', async () => {
    const { answer, ended } = await exchange(
      port,
      `${REFUSED_UPLOAD}content-length: 1000000\r\n\r\n${'x'.repeat(1024)}`,
      10_000,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    // Kept alive as far as the client knows: a client that sends the rest may reuse it.
    expect(answer).toMatch(/\r\nconnection: keep-alive\r\n/i);
    expect(ended).toBe(true);
  });

  it('keeps a refused connection whose whole body arrived, past the linger', async () => {
    const { answer, ended } = await exchange(
      port,
      `${REFUSED_UPLOAD}content-length: 4\r\n\r\nabcd`,
      // Ten times the linger: a connection cut by it would have ended by then.
      3_000,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    expect(ended).toBe(false);
  });

  it('keeps a connection whose refused request’s body comes later, and serves its next request', async () => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (data) => (answer += String(data)));
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    socket.write(`${REFUSED_UPLOAD}content-length: 2000\r\n\r\n${'x'.repeat(1000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write('x'.repeat(1000));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    socket.write(`${REFUSED_UPLOAD}content-length: 1\r\n\r\ny`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answer.match(/HTTP\/1\.1 429 /g)).toHaveLength(2);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
    void ended;
  });
});

describe('createHttpApp: idle connections', () => {
  const IDLE_MS = 300;
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    app = await createHttpApp(SlowModule, {
      logger: createLogger({ name: 'http-app-idle-spec', level: 'silent' }),
      timeouts: { idleMs: IDLE_MS, keepAliveMs: 120_000, requestMs: 2_000 },
    });
    app
      .getHttpAdapter()
      .getInstance()
      .addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    // A hot path ahead of the router, as the gateway's inference path: answers /hot in 900 ms.
    interceptRequests(app.getHttpServer(), (request, response) => {
      if (request.url !== '/hot') return false;
      setTimeout(() => response.end('hot'), 900);
      return true;
    });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('keeps a connection silent while the server works on its answer, and answers it', async () => {
    // Silent both ways for three idle timeouts: the wait is the server's, not the client's.
    const { answer } = await exchange(port, 'GET /slow?ms=900 HTTP/1.1\r\nHost: x\r\n\r\n', 2_000);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('{"waited":900}');
  });

  it("keeps a hot path's connection silent while its answer is owed, and answers it", async () => {
    const { answer } = await exchange(port, 'GET /hot HTTP/1.1\r\nHost: x\r\n\r\n', 2_000);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/hot$/);
  });

  it('cuts an upload whose body stops coming, with no answer', async () => {
    const { answer, ended } = await exchange(
      port,
      'POST /upload HTTP/1.1\r\nHost: x\r\ncontent-type: application/octet-stream\r\n' +
        `content-length: 1000000\r\n\r\n${'x'.repeat(1024)}`,
      5_000,
    );
    expect(ended).toBe(true);
    expect(answer).toBe('');
  });

  it('cuts a connection whose answer is owed for longer than the request timeout', async () => {
    const { answer, ended } = await exchange(
      port,
      'GET /slow?ms=4500 HTTP/1.1\r\nHost: x\r\n\r\n',
      4_000,
    );
    expect(ended).toBe(true);
    expect(answer).toBe('');
  });
});
