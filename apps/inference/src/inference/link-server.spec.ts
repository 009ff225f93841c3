import { connect, type Socket } from 'node:net';
import { DomainError, type Logger } from '@maas/app-runtime';
import {
  type Frame,
  FrameKind,
  frameHead,
  LINK_CHALLENGE_BYTES,
  LINK_MAGIC,
  LINK_NONCE_BYTES,
  type LinkRequestMeta,
  MAX_LINK_BODY_BYTES,
  type LinkResponseMeta,
  linkProof,
  openLinkHandshake,
  parseMeta,
  readFrames,
  writeFrame,
} from '@maas/worker-link';
import { linkStranger } from '@maas/testing';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { InferenceConfig } from '../config/inference-config.js';
import { InferenceMetrics } from './inference.metrics.js';
import type { InferenceService, ServedResponse } from './inference.service.js';
import { WorkerLinkServer } from './link-server.js';

/** Resolves when the socket closes (a reset included: events.once would reject on 'error'). */

const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const SECRET = 'link-server-spec-secret-0123456789abcdef';

/** Stands in for InferenceService: answers what `answer` says, or holds calls until released. */
function fakeInference(answer: (model: string, body: Buffer) => Promise<ServedResponse>) {
  return {
    infer: (_tenant: string, model: string, _version: number, body: Buffer) => answer(model, body),
    predict: (_tenant: string, model: string, _version: number, body: Buffer) =>
      answer(model, body),
  } as unknown as InferenceService;
}

async function startServer(
  inference: InferenceService,
  metrics = new InferenceMetrics(new Registry()),
) {
  const server = new WorkerLinkServer(
    { LINK_PORT: 0, HOST: '127.0.0.1', WORKER_SECRET: SECRET } as InferenceConfig,
    silent as unknown as Logger,
    inference,
    metrics,
  );
  await server.onModuleInit();
  return server;
}

/** A gateway stand-in: proves the secret, sends frames, collects answers by id. */
async function gateway(port: number) {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => socket.once('connect', resolve));
  await new Promise<void>((resolve, reject) =>
    openLinkHandshake(socket, SECRET, (error) => (error ? reject(error) : resolve())),
  );
  const answers = new Map<number, Frame>();
  const waiting = new Map<number, (frame: Frame) => void>();
  readFrames(socket, (frame) => {
    answers.set(frame.id, frame);
    waiting.get(frame.id)?.(frame);
  });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  return {
    socket,
    closed,
    send(
      id: number,
      meta: Partial<LinkRequestMeta>,
      body = Buffer.alloc(0),
      kind: FrameKind = FrameKind.infer,
    ) {
      writeFrame(socket, frameHead(id, kind, meta, body.length), body);
    },
    answer(id: number): Promise<Frame> {
      const ready = answers.get(id);
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.set(id, resolve));
    },
  };
}

const request = (model: string): LinkRequestMeta => ({
  tenant: 't1',
  model,
  version: 1,
  requestId: `r-${model}`,
});

describe('WorkerLinkServer', () => {
  const servers: WorkerLinkServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.onApplicationShutdown();
  });

  it('answers each frame with the service result, and errors in the inference error shape', async () => {
    const server = await startServer(
      fakeInference(async (model, body) => {
        if (model === 'missing') throw new DomainError('NOT_FOUND', "model 'missing' not found");
        return {
          body: Buffer.from(`${model}:${body.toString()}`),
          contentType: 'application/json',
          rows: 2,
          batchRows: 6,
        };
      }),
    );
    servers.push(server);
    const client = await gateway(server.port);
    client.send(1, request('m'), Buffer.from('xyz'));
    client.send(2, request('missing'));
    client.send(3, { ...request('m'), version: 0 });
    client.send(4, request('m'), Buffer.alloc(0), 99 as FrameKind);

    const ok = await client.answer(1);
    expect(ok.kind).toBe(FrameKind.response);
    expect(parseMeta<LinkResponseMeta>(ok)).toMatchObject({ status: 200, rows: 2, batchRows: 6 });
    expect(ok.body.toString()).toBe('m:xyz');
    const missing = await client.answer(2);
    expect(parseMeta<LinkResponseMeta>(missing).status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toEqual({ error: "model 'missing' not found" });
    expect(parseMeta<LinkResponseMeta>(await client.answer(3)).status).toBe(400);
    expect(parseMeta<LinkResponseMeta>(await client.answer(4)).status).toBe(400);
    client.socket.destroy();
  });

  it('fails an answer too large for a frame alone (422), and the connection carries on', async () => {
    const server = await startServer(
      fakeInference(async (model) => ({
        // Past what a frame may carry: written, the gateway would have to drop the connection.
        body: model === 'huge' ? Buffer.allocUnsafe(MAX_LINK_BODY_BYTES + 1) : Buffer.from('ok'),
        contentType: 'application/octet-stream',
        rows: 1,
        batchRows: 1,
      })),
    );
    servers.push(server);
    const client = await gateway(server.port);
    client.send(1, request('huge'));
    client.send(2, request('small'));
    const refused = await client.answer(1);
    expect(parseMeta<LinkResponseMeta>(refused).status).toBe(422);
    expect(JSON.parse(refused.body.toString()).error).toMatch(
      /the model's answer .* is larger than/,
    );
    expect((await client.answer(2)).body.toString()).toBe('ok');
    client.send(3, request('small'));
    expect((await client.answer(3)).body.toString()).toBe('ok');
    expect(client.socket.destroyed).toBe(false);
    client.socket.destroy();
  });

  it('drains: refuses new frames, finishes those in flight, then resolves', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = await startServer(
      fakeInference(async (model) => {
        await held;
        return { body: Buffer.from(model), contentType: 'text/plain', rows: 1, batchRows: 1 };
      }),
    );
    servers.push(server);
    const client = await gateway(server.port);
    client.send(1, request('in-flight'));
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the worker take it
    let drained = false;
    const draining = server.drain().then(() => (drained = true));
    client.send(2, request('late'));
    const refused = await client.answer(2);
    expect(refused.kind).toBe(FrameKind.refused);
    expect(drained).toBe(false);
    release();
    const finished = await client.answer(1);
    expect(finished.kind).toBe(FrameKind.response);
    expect(finished.body.toString()).toBe('in-flight');
    await draining;
    expect(drained).toBe(true);
    client.socket.destroy();
  });

  describe('before the gateway proved WORKER_SECRET', () => {
    const frame = (meta: object, body: Buffer) =>
      Buffer.concat([frameHead(1, FrameKind.infer, meta, body.length), body]);

    it('serves no frame sent without the handshake and closes the connection', async () => {
      let calls = 0;
      const metrics = new InferenceMetrics(new Registry());
      const server = await startServer(
        fakeInference(async () => {
          calls++;
          return { body: Buffer.from('x'), contentType: 'text/plain', rows: 1, batchRows: 1 };
        }),
        metrics,
      );
      servers.push(server);
      const received = await linkStranger(server.port, (socket) =>
        socket.write(frame(request('m'), Buffer.from('{"inputs":[]}'))),
      );
      // The challenge, then nothing: no response frame.
      expect(received.length).toBe(LINK_CHALLENGE_BYTES);
      expect(received.subarray(0, LINK_MAGIC.length).equals(LINK_MAGIC)).toBe(true);
      expect(calls).toBe(0);
      const failures = await metrics.authFailures.get();
      expect(failures.values).toEqual([
        expect.objectContaining({ labels: { transport: 'link', reason: 'protocol' }, value: 1 }),
      ]);
      expect((await metrics.linkConnections.get()).values[0]?.value ?? 0).toBe(0);
    });

    it('closes on a proof made with another secret, even one sized exactly right', async () => {
      let calls = 0;
      const server = await startServer(
        fakeInference(async () => {
          calls++;
          return { body: Buffer.alloc(0), contentType: 'text/plain', rows: 1, batchRows: 1 };
        }),
      );
      servers.push(server);
      const received = await linkStranger(server.port, (socket, challenge) => {
        const workerNonce = challenge.subarray(LINK_MAGIC.length);
        const gatewayNonce = Buffer.alloc(LINK_NONCE_BYTES, 1);
        const wrong = linkProof(
          'not-the-secret-0123456789abcdef!!',
          'gateway',
          workerNonce,
          gatewayNonce,
        );
        socket.write(Buffer.concat([gatewayNonce, wrong]));
        socket.write(frame(request('m'), Buffer.alloc(0)));
      });
      expect(received.length).toBe(LINK_CHALLENGE_BYTES);
      expect(calls).toBe(0);
    });

    it("does not take a reflected worker proof as the gateway's", async () => {
      const server = await startServer(fakeInference(async () => ({}) as ServedResponse));
      servers.push(server);
      const received = await linkStranger(server.port, (socket, challenge) => {
        const workerNonce = challenge.subarray(LINK_MAGIC.length);
        const gatewayNonce = Buffer.alloc(LINK_NONCE_BYTES, 2);
        // Right secret, wrong side: a proof only a worker would send.
        socket.write(
          Buffer.concat([gatewayNonce, linkProof(SECRET, 'worker', workerNonce, gatewayNonce)]),
        );
      });
      expect(received.length).toBe(LINK_CHALLENGE_BYTES);
    });
  });

  it('drops a connection whose stream is corrupt', async () => {
    const server = await startServer(fakeInference(async () => ({}) as ServedResponse));
    servers.push(server);
    const client = await gateway(server.port);
    const garbage = Buffer.alloc(16, 0xff); // a length of 4 GiB
    client.socket.write(garbage);
    await client.closed;
    expect(client.socket.destroyed).toBe(true);
  });
});
