import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acceptLinkHandshake,
  LINK_CHALLENGE_BYTES,
  type LinkHandshakeError,
  openLinkHandshake,
} from './link-handshake.js';

/** Resolves when the socket closes (a reset included: events.once would reject on 'error'). */
const closed = (socket: Socket) => new Promise((resolve) => socket.once('close', resolve));

const SECRET = 'handshake-spec-secret-0123456789abcdef';

type Outcome = LinkHandshakeError | undefined;

/** A listening socket whose accepted connections run the worker's side; outcomes in order. */
async function worker(secret = SECRET, timeoutMs?: number) {
  const outcomes: Promise<Outcome>[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    outcomes.push(
      new Promise((resolve) => acceptLinkHandshake(socket, secret, resolve, timeoutMs)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    outcomes,
    sockets,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

describe('worker link handshake', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('lets both sides through with the same secret, then carries bytes untouched', async () => {
    const w = await worker();
    cleanups.push(w.close);
    const socket = await dial(w.port);
    const client = await new Promise<Outcome>((resolve) =>
      openLinkHandshake(socket, SECRET, resolve),
    );
    expect(client).toBeUndefined();
    expect(await w.outcomes[0]).toBeUndefined();
    // After it, the stream belongs to the caller: what one side writes the other reads as is.
    const [accepted] = [...w.sockets];
    const got = once(accepted!, 'data');
    socket.write('after');
    expect(String((await got)[0])).toBe('after');
    socket.destroy();
  });

  it('fails both sides when the secrets differ; the worker reads nothing more', async () => {
    const w = await worker('the-workers-secret-0123456789abcdefgh');
    cleanups.push(w.close);
    const socket = await dial(w.port);
    const client = await new Promise<Outcome>((resolve) =>
      openLinkHandshake(socket, SECRET, resolve),
    );
    expect((await w.outcomes[0])?.reason).toBe('bad_proof');
    // The worker hung up instead of proving itself.
    expect(client?.reason).toBe('closed');
  });

  it('closes a connection that stalls after the challenge', async () => {
    const w = await worker(SECRET, 100);
    cleanups.push(w.close);
    const socket = await dial(w.port);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await closed(socket);
    expect((await w.outcomes[0])?.reason).toBe('timeout');
    expect(Buffer.concat(received).length).toBe(LINK_CHALLENGE_BYTES);
  });

  it('refuses bytes past the proof in the same write (no frame rides in with it)', async () => {
    const w = await worker();
    cleanups.push(w.close);
    const socket = await dial(w.port);
    socket.resume(); // read the challenge, so that 'close' comes
    socket.write(Buffer.alloc(200, 7));
    await closed(socket);
    expect((await w.outcomes[0])?.reason).toBe('protocol');
  });

  it('the gateway refuses a peer that is not a worker link', async () => {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write(Buffer.alloc(LINK_CHALLENGE_BYTES, 0x41));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const socket = await dial((server.address() as { port: number }).port);
    const outcome = await new Promise<Outcome>((resolve) =>
      openLinkHandshake(socket, SECRET, resolve),
    );
    expect(outcome?.reason).toBe('protocol');
    expect(socket.destroyed).toBe(true);
  });
});
