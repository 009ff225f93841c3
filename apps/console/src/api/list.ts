import { useAsync } from '../lib/use-async';
import { api } from './client';
import type { Page } from './types';

/** Every item of a list route, page by page (a list answers at most 200 per call). */
export async function listAll<T>(path: string, signal?: AbortSignal, max = 1000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: Page<T> = await api<Page<T>>(
      `${path}${separator}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { signal },
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && items.length < max);
  return items;
}

/** A view's whole list from `path` (see listAll), reloadable. */
export function useList<T>(path: string) {
  return useAsync((signal) => listAll<T>(path, signal), [path]);
}

/** A view's one GET of `path`, reloadable and, with `pollMs`, refreshed. */
export function useGet<T>(path: string, options: { pollMs?: number } = {}) {
  return useAsync((signal) => api<T>(path, { signal }), [path], options);
}
