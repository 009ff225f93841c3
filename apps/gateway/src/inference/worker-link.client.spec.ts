import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '@maas/app-runtime';
import {
  acceptLinkHandshake,
  type Frame,
  FrameKind,
  FrameReader,
  frameHead,
  LINK_MAGIC,
  LINK_PROOF_BYTES,
  type LinkRequestMeta,
  parseMeta,
  writeFrame,
} from '@maas/worker-link';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../config/gateway-config.js';
import { WorkerUnreachableError } from './inference-worker.client.js';
import { parseLinkAddress, WorkerLinkClient } from './worker-link.client.js';

const SECRET = 'link-client-spec-secret-0123456789abcdef';

/**
 * A stand-in worker on 127.0.0.1: runs the worker's side of the handshake with `secret`, then
 * hands each request frame to `onFrame`.
 */
async function fakeWorker(onFrame: (socket: Socket, frame: Frame) => void, secret = SECRET) {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    acceptLinkHandshake(socket, secret, (error) => {
      if (error) return;
      const reader = new FrameReader();
      socket.on('data', (chunk: Buffer) => reader.push(chunk).forEach((f) => onFrame(socket, f)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    dropConnections: () => sockets.forEach((s) => s.destroy()),
    /** Stops (and starts again) reading what the gateway sends, as a stuck worker would. */
    pauseReading: () => sockets.forEach((s) => s.pause()),
    resumeReading: () => sockets.forEach((s) => s.resume()),
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const meta = (model: string): LinkRequestMeta => ({
  tenant: 't1',
  model,
  version: 1,
  requestId: `r-${model}`,
});

function answer(socket: Socket, frame: Frame, text: string, status = 200): void {
  const body = Buffer.from(text);
  writeFrame(
    socket,
    frameHead(frame.id, FrameKind.response, { status, contentType: 'text/plain' }, body.length),
    body,
  );
}

describe('WorkerLinkClient', () => {
  const cleanups: (() => unknown)[] = [];
  const errors: string[] = [];
  const logger = { error: (_: object, message: string) => errors.push(message) };
  const client = (timeoutMs = 5000) => {
    const c = new WorkerLinkClient(
      { INFERENCE_TIMEOUT_MS: timeoutMs, WORKER_SECRET: SECRET } as GatewayConfig,
      logger as unknown as Logger,
    );
    cleanups.push(() => c.onModuleDestroy());
    return c;
  };
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('multiplexes requests on one connection and matches answers sent out of order', async () => {
    const held: { socket: Socket; frame: Frame }[] = [];
    const worker = await fakeWorker((socket, frame) => {
      held.push({ socket, frame });
      if (held.length < 3) return;
      // Answer in reverse order, echoing each request's model and body.
      for (const { socket: s, frame: f } of held.reverse()) {
        answer(s, f, `${parseMeta<LinkRequestMeta>(f).model}:${f.body.toString()}`);
      }
    });
    cleanups.push(worker.close);
    const link = client();
    const answers = await Promise.all(
      ['a', 'b', 'c'].map((m) =>
        link.request(worker.address, 'infer', meta(m), Buffer.from(m + m)),
      ),
    );
    expect(answers.map((a) => a.body.toString())).toEqual(['a:aa', 'b:bb', 'c:cc']);
    expect(answers[0]!.meta).toEqual({ status: 200, contentType: 'text/plain' });
    expect(held.map((h) => h.frame.kind)).toEqual(Array(3).fill(FrameKind.infer));
    expect(worker.connections()).toBe(1);
  });

  it('takes an answer that arrived during a stall past the request deadline', async () => {
    const worker = await fakeWorker((socket, frame) => {
      // Answered at once (written uncorked), then this process stalls for 120 ms: the client
      // wakes with its 30 ms deadline expired and the answer waiting to be read.
      const body = Buffer.from('in time');
      socket.write(
        Buffer.concat([
          frameHead(frame.id, FrameKind.response, { status: 200, contentType: 'text/plain' }, 7),
          body,
        ]),
      );
      const until = Date.now() + 120;
      while (Date.now() < until);
    });
    cleanups.push(worker.close);
    const link = client(30);
    // (connected first: the connect has a deadline of its own)
    await link
      .request(worker.address, 'infer', meta('warm'), Buffer.alloc(1))
      .catch(() => undefined);
    const answer = await link.request(worker.address, 'infer', meta('m'), Buffer.alloc(1));
    expect(answer.body.toString()).toBe('in time');
  });

  it('fails a refused request as unreachable-before-send, so the next worker may take it', async () => {
    const worker = await fakeWorker((socket, frame) =>
      writeFrame(socket, frameHead(frame.id, FrameKind.refused, {}, 0)),
    );
    cleanups.push(worker.close);
    const error = await client()
      .request(worker.address, 'predict', meta('m'), Buffer.alloc(1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerUnreachableError);
    expect((error as WorkerUnreachableError).beforeSend).toBe(true);
  });

  it('fails pending requests when the connection drops, and reconnects for the next', async () => {
    let drop = true;
    const worker = await fakeWorker((socket, frame) => {
      if (drop) socket.destroy();
      else answer(socket, frame, 'ok');
    });
    cleanups.push(worker.close);
    const link = client();
    const error = await link
      .request(worker.address, 'infer', meta('m'), Buffer.alloc(1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerUnreachableError);
    expect((error as WorkerUnreachableError).beforeSend).toBe(false);
    drop = false;
    const ok = await link.request(worker.address, 'infer', meta('m'), Buffer.alloc(1));
    expect(ok.body.toString()).toBe('ok');
    expect(worker.connections()).toBe(2);
  });

  it('answers DEADLINE_EXCEEDED when the worker is silent past the timeout', async () => {
    const worker = await fakeWorker(() => undefined);
    cleanups.push(worker.close);
    await expect(
      client(100).request(worker.address, 'infer', meta('m'), Buffer.alloc(1)),
    ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('reports a worker that refuses connections as unreachable before send', async () => {
    const worker = await fakeWorker(() => undefined);
    await worker.close();
    const error = await client()
      .request(worker.address, 'infer', meta('m'), Buffer.alloc(1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerUnreachableError);
    expect((error as WorkerUnreachableError).beforeSend).toBe(true);
  });

  it('sends nothing to a worker that does not share WORKER_SECRET, and says why', async () => {
    let frames = 0;
    const worker = await fakeWorker(() => frames++, 'another-secret-entirely-0123456789abcdef');
    cleanups.push(worker.close);
    errors.length = 0;
    const error = await client()
      .request(worker.address, 'infer', meta('m'), Buffer.alloc(1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerUnreachableError);
    expect((error as WorkerUnreachableError).beforeSend).toBe(true);
    expect(frames).toBe(0);
    expect(errors.join()).toMatch(/WORKER_SECRET/);
  });

  it('never writes a frame to a peer that cannot prove the secret (one that took a worker address)', async () => {
    const received: Buffer[] = [];
    const sockets = new Set<Socket>();
    let closed!: Promise<unknown>;
    // Challenges like a worker, accepts any proof, answers with a made-up one.
    const impostor = createServer((socket) => {
      sockets.add(socket);
      closed = new Promise((resolve) => socket.once('close', resolve));
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        if (Buffer.concat(received).length === LINK_PROOF_BYTES) socket.write(randomBytes(32));
      });
      socket.write(Buffer.concat([LINK_MAGIC, randomBytes(32)]));
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => impostor.close(resolve));
    });
    const { port } = impostor.address() as { port: number };
    const error = await client()
      .request(`127.0.0.1:${port}`, 'infer', meta('secret-model'), Buffer.from('tenant data'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerUnreachableError);
    expect((error as WorkerUnreachableError).beforeSend).toBe(true);
    // Only the gateway's handshake proof went out before it hung up: no frame, no tenant bytes.
    await closed;
    const sent = Buffer.concat(received);
    expect(sent.length).toBe(LINK_PROOF_BYTES);
    expect(sent.includes('secret-model')).toBe(false);
  });

  // Larger than every kernel buffer on the way (tcp_wmem + tcp_rmem maxima): most of it stays in
  // the gateway's socket buffer while the worker does not read.
  const HUGE = 96 * 1024 * 1024;

  it('queues requests behind a full socket, bounded, and never sends one whose deadline passed there', async () => {
    const received: string[] = [];
    const worker = await fakeWorker((socket, frame) => {
      const { model } = parseMeta<LinkRequestMeta>(frame);
      received.push(model);
      if (model !== 'huge') answer(socket, frame, 'ok');
    });
    cleanups.push(worker.close);
    const link = client(3000);
    expect(
      (await link.request(worker.address, 'infer', meta('warm'), Buffer.alloc(1))).body,
    ).toEqual(Buffer.from('ok'));
    worker.pauseReading();
    const huge = link
      .request(worker.address, 'infer', meta('huge'), Buffer.alloc(HUGE))
      .catch((e: unknown) => e);
    const late = link
      .request(worker.address, 'infer', meta('late'), Buffer.alloc(10))
      .catch((e: unknown) => e);
    const queued = link
      .request(worker.address, 'infer', meta('queued'), Buffer.alloc(40 * 1024 * 1024))
      .catch((e: unknown) => e);
    // The queue holds at most 64 MiB: this one is refused at once, never buffered.
    await expect(
      link.request(worker.address, 'infer', meta('refused'), Buffer.alloc(40 * 1024 * 1024)),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE', retryAfterSeconds: 1 });
    for (const expired of await Promise.all([huge, late, queued])) {
      expect(expired).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    }
    worker.resumeReading();
    // Frames arrive in order: had 'late' or 'queued' been sent, they would come before 'after'.
    const after = await link.request(worker.address, 'infer', meta('after'), Buffer.alloc(1));
    expect(after.body.toString()).toBe('ok');
    expect(received).toEqual(['warm', 'huge', 'after']);
  });

  it('fails a written request as sent and a queued one as never sent when the connection drops', async () => {
    const worker = await fakeWorker(() => undefined);
    cleanups.push(worker.close);
    const link = client();
    const warm = link.request(worker.address, 'infer', meta('warm'), Buffer.alloc(1));
    warm.catch(() => undefined);
    await expect.poll(() => worker.connections()).toBe(1);
    worker.pauseReading();
    const written = link
      .request(worker.address, 'infer', meta('huge'), Buffer.alloc(HUGE))
      .catch((e: unknown) => e);
    const queued = link
      .request(worker.address, 'infer', meta('queued'), Buffer.alloc(10))
      .catch((e: unknown) => e);
    worker.dropConnections();
    const [lost, neverSent] = await Promise.all([written, queued]);
    expect(lost).toBeInstanceOf(WorkerUnreachableError);
    expect((lost as WorkerUnreachableError).beforeSend).toBe(false);
    expect(neverSent).toBeInstanceOf(WorkerUnreachableError);
    expect((neverSent as WorkerUnreachableError).beforeSend).toBe(true);
  });

  /**
   * A worker that answers model 'first' and holds every other request; a link to it on which
   * tenant B's version vB has answered; and a crash with A's never-answered vA and B's vB in
   * flight (`crash`: drops the connection once both are held, resolves with both errors).
   */
  async function crashWithBystander() {
    const held: string[] = [];
    const worker = await fakeWorker((socket, frame) => {
      const { model } = parseMeta<LinkRequestMeta>(frame);
      if (model === 'first') answer(socket, frame, 'ok');
      else held.push(model);
    });
    cleanups.push(worker.close);
    const link = client();
    const losses: { address: string; suspects: unknown[] }[] = [];
    link.onLost((address, suspects) => losses.push({ address, suspects }));
    const version = (tenantId: string, versionId: string) => ({
      tenantId,
      versionId,
      model: versionId,
      version: 1,
    });
    await link.request(
      worker.address,
      'infer',
      meta('first'),
      Buffer.alloc(1),
      version('tB', 'vB'),
    );
    const crash = async () => {
      const inFlight = [
        link.request(worker.address, 'infer', meta('a'), Buffer.alloc(1), version('tA', 'vA')),
        link.request(worker.address, 'infer', meta('b'), Buffer.alloc(1), version('tB', 'vB')),
      ].map((p) => p.catch((e: unknown) => e));
      await expect.poll(() => held.length).toBe(2);
      worker.dropConnections();
      return (await Promise.all(inFlight)) as WorkerUnreachableError[];
    };
    return { worker, link, losses, version, crash };
  }

  it('reports a lost connection once, blaming the versions in flight it never answered', async () => {
    const { worker, losses, version, crash } = await crashWithBystander();
    const [suspect, bystander] = await crash();
    for (const error of [suspect!, bystander!]) expect(error.beforeSend).toBe(false);
    // B's request is a bystander of a loss blamed on A's version; A's is not.
    expect([suspect!.bystander, bystander!.bystander]).toEqual([false, true]);
    expect(losses).toEqual([{ address: worker.address, suspects: [version('tA', 'vA')] }]);
  });

  it('remembers the versions a worker answered across reconnections when it blames a loss', async () => {
    const { worker, link, losses, version, crash } = await crashWithBystander();
    // The worker restarts (its connection drops with nothing in flight)…
    worker.dropConnections();
    await expect
      .poll(() =>
        link.request(worker.address, 'infer', meta('first'), Buffer.alloc(1)).then(
          () => true,
          () => false,
        ),
      )
      .toBe(true);
    // …and on the new connection B's first request is in flight beside A's crasher.
    const [a, b] = await crash();
    expect([a!.bystander, b!.bystander]).toEqual([false, true]);
    expect(losses).toEqual([{ address: worker.address, suspects: [version('tA', 'vA')] }]);
  });

  it('says whether a request of a version that never ran to an answer is in flight on a worker', async () => {
    const held: { socket: Socket; frame: Frame }[] = [];
    const worker = await fakeWorker((socket, frame) => {
      if (parseMeta<LinkRequestMeta>(frame).model === 'first') answer(socket, frame, 'ok');
      else held.push({ socket, frame });
    });
    cleanups.push(worker.close);
    const link = client();
    const version = (versionId: string) => ({ tenantId: 't', versionId, model: 'm', version: 1 });
    expect(link.untriedInFlight(worker.address)).toBe(false);
    // vB ran to an answer once: its requests in flight put no worker at risk.
    await link.request(worker.address, 'infer', meta('first'), Buffer.alloc(1), version('vB'));
    const tried = link.request(worker.address, 'infer', meta('b'), Buffer.alloc(1), version('vB'));
    await expect.poll(() => held.length).toBe(1);
    expect(link.untriedInFlight(worker.address)).toBe(false);
    // vA never ran: in flight, it does; a 400 (which may never have reached the model) leaves it
    // untried; a 200 makes it tried.
    const untried = () =>
      link.request(worker.address, 'infer', meta('a'), Buffer.alloc(1), version('vA'));
    const refused = untried();
    await expect.poll(() => held.length).toBe(2);
    expect(link.untriedInFlight(worker.address)).toBe(true);
    answer(held[1]!.socket, held[1]!.frame, 'bad input', 400);
    await refused;
    expect(link.ranSomewhere('vA')).toBe(false);
    const ran = untried();
    await expect.poll(() => held.length).toBe(3);
    expect(link.untriedInFlight(worker.address)).toBe(true);
    answer(held[2]!.socket, held[2]!.frame, 'a');
    await ran;
    expect(link.ranSomewhere('vA')).toBe(true);
    expect(link.untriedInFlight(worker.address)).toBe(false);
    // A preload (no version of a tenant rides on it) is no risk either; a timed-out or lost
    // request is no longer in flight.
    void link.load(worker.address, meta('c')).catch(() => undefined);
    const lost = link
      .request(worker.address, 'infer', meta('d'), Buffer.alloc(1), version('vD'))
      .catch((e: unknown) => e);
    await expect.poll(() => held.length).toBe(5);
    expect(link.untriedInFlight(worker.address)).toBe(true);
    worker.dropConnections();
    expect(await lost).toBeInstanceOf(WorkerUnreachableError);
    await tried.catch(() => undefined);
    expect(link.untriedInFlight(worker.address)).toBe(false);
  });

  it('parses host:port link addresses, IPv6 in brackets', () => {
    expect(parseLinkAddress('10.0.0.5:8081')).toEqual({ host: '10.0.0.5', port: 8081 });
    expect(parseLinkAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(() => parseLinkAddress('nohost')).toThrow(/bad worker link address/);
    expect(() => parseLinkAddress('h:99999')).toThrow(/bad worker link address/);
  });
});
