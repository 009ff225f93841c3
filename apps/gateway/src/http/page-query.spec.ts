import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pageFields, PageQuery } from './page-query.js';

describe('PageQuery', () => {
  it('takes 50 a page by default, up to 200, and an optional string cursor', () => {
    expect(PageQuery.parse({})).toEqual({ limit: 50 });
    expect(PageQuery.parse({ cursor: 'iris', limit: '200' })).toEqual({
      cursor: 'iris',
      limit: 200,
    });
    for (const limit of ['0', '201', '1.5', 'ten']) {
      expect(PageQuery.safeParse({ limit }).success, limit).toBe(false);
    }
    expect(PageQuery.safeParse({ cursor: 'x'.repeat(201) }).success).toBe(false);
  });

  it('takes a list’s own cursor form and page bounds', () => {
    const VersionPage = z.object(
      pageFields(z.coerce.number().int().min(0), { max: 1000, fallback: 100 }),
    );
    expect(VersionPage.parse({})).toEqual({ limit: 100 });
    expect(VersionPage.parse({ cursor: '7', limit: '1000' })).toEqual({ cursor: 7, limit: 1000 });
    expect(VersionPage.safeParse({ cursor: '-1' }).success).toBe(false);
    expect(VersionPage.safeParse({ limit: '1001' }).success).toBe(false);
  });
});
