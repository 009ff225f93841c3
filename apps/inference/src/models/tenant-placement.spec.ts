import { describe, expect, it } from 'vitest';
import { TenantPlacement } from './tenant-placement.js';

describe('TenantPlacement', () => {
  it("keeps a tenant's models on one thread and puts a new tenant on the least-used", () => {
    const placement = new TenantPlacement(3);
    const a1 = placement.place('a');
    const b = placement.place('b');
    const a2 = placement.place('a');
    const c = placement.place('c');
    expect([a1.index, a2.index]).toEqual([0, 0]);
    expect([b.index, c.index]).toEqual([1, 2]);
    // Every thread has one tenant: the first of the least-used.
    expect(placement.place('d').index).toBe(0);
    expect(placement.tenantsOf(0)).toEqual(['a', 'd']);
  });

  it('places a tenant afresh once its last model is released, and counts a release once', () => {
    const placement = new TenantPlacement(2);
    const a1 = placement.place('a');
    const a2 = placement.place('a');
    placement.place('b');
    a1.release();
    a1.release();
    expect(placement.tenantsOf(0)).toEqual(['a']);
    a2.release();
    expect(placement.tenantsOf(0)).toEqual([]);
    // Thread 0 is now the least used; 'a' goes wherever that is.
    placement.place('b');
    expect(placement.place('a').index).toBe(0);
  });

  it('forgets the tenants of a thread that stopped, and their old models release nothing', () => {
    const placement = new TenantPlacement(2);
    const old = placement.place('a');
    placement.place('b');
    placement.lost(0);
    expect(placement.tenantsOf(0)).toEqual([]);
    const again = placement.place('a');
    expect(again.index).toBe(0);
    // The model on the stopped thread is released late: the new placement stands.
    old.release();
    expect(placement.tenantsOf(0)).toEqual(['a']);
    expect(placement.place('a').index).toBe(0);
  });
});
