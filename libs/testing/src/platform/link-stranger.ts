import { connect, type Socket } from 'node:net';
import { LINK_CHALLENGE_BYTES } from '@maas/worker-link';

/**
 * A raw TCP client of a worker's link that does not know WORKER_SECRET: it reads the worker's
 * challenge, lets `act` answer it (or not), and resolves with every byte the worker sent once
 * the worker closes the connection.
 */
export async function linkStranger(
  port: number,
  act: (socket: Socket, challenge: Buffer) => void,
): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const received: Buffer[] = [];
  let acted = false;
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk);
    const all = Buffer.concat(received);
    if (!acted && all.length >= LINK_CHALLENGE_BYTES) {
      acted = true;
      act(socket, all.subarray(0, LINK_CHALLENGE_BYTES));
    }
  });
  await new Promise((resolve) => socket.once('close', resolve));
  return Buffer.concat(received);
}
