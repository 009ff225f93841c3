import { describe, expect, it } from 'vitest';
import { WorkerSuspicion } from './worker-suspicion.js';

const policy = { unreachableMs: 5_000, timeouts: 3, windowMs: 60_000, cooldownMs: 30_000 };

function withClock() {
  const clock = { now: 1_000_000 };
  return { clock, suspicion: new WorkerSuspicion(policy, () => clock.now) };
}

describe('WorkerSuspicion', () => {
  it('makes a worker suspect after K timeouts from two tenants, for the cool-down only', () => {
    const { clock, suspicion } = withClock();
    expect(suspicion.noteTimeout('w1', 'tenant-a')).toBe(false);
    clock.now += 1000;
    expect(suspicion.noteTimeout('w1', 'tenant-b')).toBe(false);
    expect(suspicion.isSuspect('w1')).toBe(false);
    clock.now += 1000;
    expect(suspicion.noteTimeout('w1', 'tenant-a')).toBe(true);
    expect(suspicion.isSuspect('w1')).toBe(true);
    expect(suspicion.isSuspect('w2')).toBe(false);
    // Timeouts while suspect are not counted, nor reported again.
    expect(suspicion.noteTimeout('w1', 'tenant-b')).toBe(false);
    clock.now += policy.cooldownMs - 1;
    expect(suspicion.isSuspect('w1')).toBe(true);
    clock.now += 1;
    expect(suspicion.isSuspect('w1')).toBe(false);
    expect(suspicion.size).toBe(0);
    // Back in its place with a clean count: one more timeout does not make it suspect again.
    expect(suspicion.noteTimeout('w1', 'tenant-a')).toBe(false);
    expect(suspicion.isSuspect('w1')).toBe(false);
  });

  it("never makes a worker suspect for one tenant's timeouts (its slow model is its own)", () => {
    const { clock, suspicion } = withClock();
    for (let i = 0; i < 20; i++) {
      expect(suspicion.noteTimeout('w1', 'slow-tenant')).toBe(false);
      clock.now += 100;
    }
    expect(suspicion.isSuspect('w1')).toBe(false);
    // A second tenant's timeout joins the recent ones: now it is the worker.
    expect(suspicion.noteTimeout('w1', 'other-tenant')).toBe(true);
  });

  it('forgets timeouts older than the window', () => {
    const { clock, suspicion } = withClock();
    suspicion.noteTimeout('w1', 'tenant-a');
    suspicion.noteTimeout('w1', 'tenant-b');
    clock.now += policy.windowMs + 1;
    expect(suspicion.noteTimeout('w1', 'tenant-a')).toBe(false);
    expect(suspicion.noteTimeout('w1', 'tenant-a')).toBe(false);
    expect(suspicion.isSuspect('w1')).toBe(false);
    expect(suspicion.noteTimeout('w1', 'tenant-b')).toBe(true);
  });

  it('tries an unreachable worker last briefly, without cutting a cool-down short', () => {
    const { clock, suspicion } = withClock();
    suspicion.markUnreachable('w1');
    expect(suspicion.isSuspect('w1')).toBe(true);
    clock.now += policy.unreachableMs;
    expect(suspicion.isSuspect('w1')).toBe(false);

    for (const tenant of ['a', 'b', 'c']) suspicion.noteTimeout('w2', tenant);
    suspicion.markUnreachable('w2');
    clock.now += policy.unreachableMs + 1;
    expect(suspicion.isSuspect('w2')).toBe(true);
  });

  it('forgets what it suspected of a worker, refusals and timeouts, when told a new process took its URL', () => {
    const { suspicion } = withClock();
    suspicion.markUnreachable('w1');
    for (const tenant of ['a', 'b']) suspicion.noteTimeout('w1', tenant);
    suspicion.forget('w1');
    expect(suspicion.isSuspect('w1')).toBe(false);
    // The timeouts before are gone too: two more from two tenants are not yet three.
    for (const tenant of ['a', 'b']) expect(suspicion.noteTimeout('w1', tenant)).toBe(false);
    expect(suspicion.noteTimeout('w1', 'c')).toBe(true);
  });
});
