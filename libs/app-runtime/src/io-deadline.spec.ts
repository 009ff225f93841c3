import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { setIoDeadline } from './io-deadline.js';

/**
 * A loopback connection whose answer is already in the kernel when the event loop wakes from a
 * 60 ms stall, together with a 10 ms deadline that expired meanwhile: the order in which the
 * answer and the deadline are seen.
 */
async function orderAfterStall(
  deadline: (onDeadline: () => void, ms: number) => NodeJS.Timeout,
): Promise<string[]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [serverSide] = (await once(server, 'connection')) as [Socket];
  await once(client, 'connect');
  const seen: string[] = [];
  const settled = new Promise<void>((resolve) => {
    client.once('data', () => {
      seen.push('answer');
      if (seen.length === 2) resolve();
    });
    deadline(() => {
      seen.push('deadline');
      if (seen.length === 2) resolve();
    }, 10);
  });
  serverSide.write('answer'); // in the client's receive buffer at once
  const until = Date.now() + 60;
  while (Date.now() < until); // the stall: CPU went elsewhere
  await settled;
  client.destroy();
  serverSide.destroy();
  server.close();
  return seen;
}

describe('setIoDeadline', () => {
  it('lets an answer that arrived during a stall settle before the deadline it outlived', async () => {
    // A plain timer fires first: the request would fail although its answer was there.
    expect(await orderAfterStall((onDeadline, ms) => setTimeout(onDeadline, ms))).toEqual([
      'deadline',
      'answer',
    ]);
    expect(await orderAfterStall(setIoDeadline)).toEqual(['answer', 'deadline']);
  });

  it('still fires when no answer comes', async () => {
    const fired = await new Promise<boolean>((resolve) => {
      setIoDeadline(() => resolve(true), 5);
    });
    expect(fired).toBe(true);
  });
});
