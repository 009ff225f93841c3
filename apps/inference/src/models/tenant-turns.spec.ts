import { describe, expect, it } from 'vitest';
import { TenantTurns } from './tenant-turns.js';

/** A fake thread: runs posted calls one at a time, in the order posted, each until `finish()`. */
function fakeThread() {
  const order: string[] = [];
  const running: { name: string; done: () => void }[] = [];
  return {
    order,
    post: (name: string) => () =>
      new Promise<string>((resolve) => {
        order.push(`posted ${name}`);
        running.push({ name, done: () => resolve(name) });
      }),
    /** Ends the oldest posted call. */
    finish: async () => {
      const call = running.shift()!;
      order.push(`done ${call.name}`);
      call.done();
      // Let the answer's continuations (the next post) run.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
    get posted() {
      return running.length;
    },
  };
}

describe('TenantTurns', () => {
  it('posts at once while the window has room', async () => {
    const turns = new TenantTurns(2);
    const thread = fakeThread();
    const first = turns.run('a', thread.post('a1'));
    const second = turns.run('a', thread.post('a2'));
    expect(thread.posted).toBe(2);
    await thread.finish();
    await thread.finish();
    expect(await Promise.all([first, second])).toEqual(['a1', 'a2']);
    expect(turns.queued).toBe(0);
  });

  it("posts B's call after at most the window of A's, however many A has queued", async () => {
    const turns = new TenantTurns(2);
    const thread = fakeThread();
    const calls = [1, 2, 3, 4, 5, 6].map((i) => turns.run('a', thread.post(`a${i}`)));
    calls.push(turns.run('b', thread.post('b1')));
    expect(thread.posted).toBe(2);
    expect(turns.queued).toBe(5);
    await thread.finish(); // a1 done: B's turn comes before a3
    for (let i = 0; i < 6; i++) await thread.finish();
    await Promise.all(calls);
    expect(thread.order.filter((line) => line.startsWith('posted'))).toEqual([
      'posted a1',
      'posted a2',
      'posted b1',
      'posted a3',
      'posted a4',
      'posted a5',
      'posted a6',
    ]);
  });

  it('takes waiting tenants round robin', async () => {
    const turns = new TenantTurns(1);
    const thread = fakeThread();
    const calls = [
      turns.run('a', thread.post('a1')),
      turns.run('a', thread.post('a2')),
      turns.run('a', thread.post('a3')),
      turns.run('b', thread.post('b1')),
      turns.run('b', thread.post('b2')),
      turns.run('c', thread.post('c1')),
    ];
    for (let i = 0; i < 6; i++) await thread.finish();
    await Promise.all(calls);
    expect(thread.order.filter((line) => line.startsWith('posted'))).toEqual([
      'posted a1',
      'posted a2',
      'posted b1',
      'posted c1',
      'posted a3',
      'posted b2',
    ]);
  });

  it('moves on when a call fails', async () => {
    const turns = new TenantTurns(1);
    const failed = turns.run('a', () => Promise.reject(new Error('thread lost')));
    const next = turns.run('b', async () => 'b1');
    await expect(failed).rejects.toThrow('thread lost');
    expect(await next).toBe('b1');
    expect(turns.queued).toBe(0);
  });
});
