/** Plain-text rendering for people: tables, sizes, numbers, sparklines, progress bars. */
import { formatBytes as byteSize } from '@maas/sdk';

export interface Column<Row> {
  header: string;
  value: (row: Row) => unknown;
  /** Right-aligned (numbers). */
  right?: boolean;
}

export function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return formatDate(value.toISOString());
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Columns padded to their widest cell; the header in capitals. */
export function table<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row))));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((r) => r[i]!.length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

/** `name: value` lines, names aligned. */
export function fields(entries: readonly [string, unknown][]): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${cell(v)}`).join('\n') + '\n';
}

/** Up to 6 significant digits, integers as they are. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}

/** A size in binary units (the SDK's formatBytes), or - when there is none. */
export function formatBytes(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '-' : byteSize(bytes);
}

/** `2026-03-01T12:00:00.000Z` → `2026-03-01 12:00:00Z`. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

const BARS = '▁▂▃▄▅▆▇█';

/** The last `width` values as a sparkline, scaled between their own min and max. */
export function sparkline(values: readonly number[], width = 30): string {
  const shown = values.filter(Number.isFinite).slice(-width);
  if (shown.length === 0) return '';
  const min = Math.min(...shown);
  const max = Math.max(...shown);
  const span = max - min;
  return shown
    .map((v) => BARS[span === 0 ? 3 : Math.round(((v - min) / span) * (BARS.length - 1))])
    .join('');
}

/** `[#########-----------] 45%`. */
export function progressBar(fraction: number, width = 24): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)}%`;
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
