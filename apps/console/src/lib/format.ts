import { formatBytes as byteSize } from '@maas/sdk';

/** 1536 → "1.5 KiB" (the SDK's formatBytes), or a dash when there is none. */
export function formatBytes(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '—' : byteSize(bytes);
}

/** An instant as the reader's local date and time, or a dash. */
export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function formatNumber(value: unknown, digits = 4): string {
  if (typeof value !== 'number' || !Number.isFinite(value))
    return value == null ? '—' : String(value);
  if (Number.isInteger(value)) return value.toLocaleString();
  return value.toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function formatLimit(value: number | null | undefined, bytes = false): string {
  if (value === null || value === undefined) return '—';
  return bytes ? formatBytes(value) : value.toLocaleString();
}

/** What share of `limit` `used` is, as "12.5%" (a zero limit counts as one). */
export function formatShare(used: number, limit: number): string {
  return `${((used / Math.max(1, limit)) * 100).toFixed(1)}%`;
}

/** "3 s", "2 min 5 s", "1 h 4 min". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The first `n` characters of a digest, the rest on hover. */
export function shortHash(hash: string | null, n = 12): string {
  return hash ? `${hash.slice(0, n)}…` : '—';
}

/** The first day of this month, UTC, as the usage routes count months. */
export function startOfMonthUtc(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}
