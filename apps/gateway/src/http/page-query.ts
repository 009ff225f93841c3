import { z } from 'zod';

/**
 * The `?cursor=&limit=` fields of a list endpoint, to spread into its query schema: `cursor`
 * (where the previous page ended, in the form that list's cursor takes) is optional, `limit` is
 * a page size from 1 to `max`, `fallback` when not given.
 */
export function pageFields<Cursor extends z.ZodType>(
  cursor: Cursor,
  limit: { max: number; fallback: number } = { max: 200, fallback: 50 },
) {
  return {
    cursor: cursor.optional(),
    limit: z.coerce.number().int().min(1).max(limit.max).default(limit.fallback),
  };
}

/** The query of a list whose cursor is an opaque string (a name or an id): 50 a page, at most 200. */
export const PageQuery = z.object(pageFields(z.string().max(200)));
