import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FairAdmission } from './fair-admission.js';

describe('FairAdmission', () => {
  it('starts a client’s first requests of a turn at once and the rest a share per turn, in order', async () => {
    const admission = new FairAdmission(2, 100);
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
    const admission = new FairAdmission(2, 1000);
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
    const admission = new FairAdmission(1, 100);
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
    const admission = new FairAdmission(1, 2, () => deferred.push(1));
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
    const admission = new FairAdmission(1, 10);
    admission.admit('a', () => undefined);
    admission.admit('a', () => undefined);
    await nextTurn();
    await nextTurn();
    await nextTurn();
    const scheduled = (admission as unknown as { turnScheduled: boolean }).turnScheduled;
    expect(scheduled).toBe(false);
  });
});
