import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CONTENTION_WINDOW_MS, FairAdmission } from './fair-admission.js';

describe('FairAdmission', () => {
  it('starts a client’s first requests of a turn at once and the rest a share per turn, in order', async () => {
    const admission = new FairAdmission({ perTurn: 2, alonePerTurn: 2, maxWaiting: 100 });
    const started: string[] = [];
    for (let i = 0; i < 5; i += 1) admission.admit('a', () => started.push(`a${i}`));
    expect(started).toEqual(['a0', 'a1']);
    expect(admission.waitingCount).toBe(3);
    await nextTurn();
    expect(started).toEqual(['a0', 'a1', 'a2', 'a3']);
    await nextTurn();
    expect(started).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(admission.waitingCount).toBe(0);
  });

  it('never delays another client behind a burst: its request starts in the turn it arrives', async () => {
    const admission = new FairAdmission({ perTurn: 2, alonePerTurn: 2, maxWaiting: 1000 });
    const started: string[] = [];
    for (let i = 0; i < 200; i += 1) admission.admit('attacker', () => started.push('A'));
    admission.admit('bystander', () => started.push('B'));
    // B started at once, after only the attacker's share of this turn.
    expect(started).toEqual(['A', 'A', 'B']);
    await nextTurn();
    admission.admit('bystander', () => started.push('B'));
    // A new turn: the attacker got its next share, B again starts at once.
    expect(started.slice(3)).toEqual(['A', 'A', 'B']);
  });

  it('queues behind a client’s waiting requests even when a new turn has left it a share', async () => {
    const admission = new FairAdmission({ perTurn: 1, alonePerTurn: 1, maxWaiting: 100 });
    const started: number[] = [];
    admission.admit('a', () => started.push(1));
    admission.admit('a', () => started.push(2));
    admission.admit('a', () => started.push(3));
    await nextTurn();
    // 2 started with the turn; 4 arrives after it and waits behind 3 (arrival order is kept).
    admission.admit('a', () => started.push(4));
    expect(started).toEqual([1, 2]);
    await nextTurn();
    await nextTurn();
    expect(started).toEqual([1, 2, 3, 4]);
  });

  it('refuses a client that already has its maximum waiting, without running anything', () => {
    const deferred: number[] = [];
    const admission = new FairAdmission({
      perTurn: 1,
      alonePerTurn: 1,
      maxWaiting: 2,
      onDeferred: () => deferred.push(1),
    });
    const started: number[] = [];
    expect(admission.admit('a', () => started.push(1))).toBe(true);
    expect(admission.admit('a', () => started.push(2))).toBe(true);
    expect(admission.admit('a', () => started.push(3))).toBe(true);
    expect(admission.admit('a', () => started.push(4))).toBe(false);
    expect(started).toEqual([1]);
    expect(deferred).toHaveLength(2);
    // Another client is not affected by a's queue.
    expect(admission.admit('b', () => started.push(5))).toBe(true);
    expect(started).toEqual([1, 5]);
  });

  it('stops scheduling turns once nothing is waiting (an idle gateway does not spin)', async () => {
    const admission = new FairAdmission({ perTurn: 1, alonePerTurn: 1, maxWaiting: 10 });
    admission.admit('a', () => undefined);
    admission.admit('a', () => undefined);
    await nextTurn();
    await nextTurn();
    await nextTurn();
    const scheduled = (admission as unknown as { turnScheduled: boolean }).turnScheduled;
    expect(scheduled).toBe(false);
  });

  it('lets a client alone on the gateway start its whole burst in one turn, and shares again once another comes', async () => {
    let clock = 0;
    const admission = new FairAdmission({
      perTurn: 2,
      alonePerTurn: 8,
      maxWaiting: 100,
      now: () => clock,
    });
    const started: string[] = [];
    for (let i = 0; i < 10; i += 1) admission.admit('a', () => started.push('a'));
    // Alone: its share is the larger one, the rest waits for the next turn.
    expect(started).toHaveLength(8);
    expect(admission.waitingCount).toBe(2);
    // Another client arrives: it starts at once, and from now on the shares are the small ones.
    admission.admit('b', () => started.push('b'));
    expect(started.at(-1)).toBe('b');
    await nextTurn();
    expect(started).toHaveLength(11);
    for (let i = 0; i < 5; i += 1) admission.admit('a', () => started.push('a'));
    await nextTurn();
    // In this turn a took its small share of the new burst (2), the rest waits.
    expect(started.filter((who) => who === 'a')).toHaveLength(12);
    expect(admission.waitingCount).toBe(3);
    // Long after b's last request, a is alone again: what waits starts with the larger share.
    clock += CONTENTION_WINDOW_MS + 1;
    await nextTurn();
    expect(started.filter((who) => who === 'a')).toHaveLength(15);
    expect(admission.waitingCount).toBe(0);
  });

  it('keeps the small shares while two clients take turns, however long one of them bursts', async () => {
    let clock = 0;
    const admission = new FairAdmission({
      perTurn: 2,
      alonePerTurn: 50,
      maxWaiting: 1000,
      now: () => clock,
    });
    const started: string[] = [];
    admission.admit('bystander', () => started.push('B'));
    await nextTurn();
    // The attacker's burst comes within the window of the bystander's request: split by 2.
    clock += CONTENTION_WINDOW_MS - 1;
    for (let i = 0; i < 20; i += 1) admission.admit('attacker', () => started.push('A'));
    admission.admit('bystander', () => started.push('B'));
    expect(started).toEqual(['B', 'A', 'A', 'B']);
    // Each request of the bystander keeps the window open.
    clock += CONTENTION_WINDOW_MS - 1;
    await nextTurn();
    admission.admit('bystander', () => started.push('B'));
    expect(started.slice(4)).toEqual(['A', 'A', 'B']);
  });
});
