import { describe, expect, it } from 'vitest';
import { formatBytes, formatDate, formatNumber, progressBar, sparkline, table } from './format.js';

describe('formatting', () => {
  it('lays out a table with capital headers, numbers right-aligned, missing values as -', () => {
    const rows = [
      { name: 'iris', n: 1500, note: null },
      { name: 'linear-regression', n: 2, note: 'ok' },
    ];
    expect(
      table(rows, [
        { header: 'name', value: (r) => r.name },
        { header: 'requests', value: (r) => r.n, right: true },
        { header: 'note', value: (r) => r.note },
      ]),
    ).toBe(
      [
        'NAME               REQUESTS  NOTE',
        'iris                   1500  -',
        'linear-regression         2  ok',
        '',
      ].join('\n'),
    );
  });

  it('draws a sparkline scaled to its values, and a flat one for constant values', () => {
    expect(sparkline([1, 0.5, 0.25, 0])).toBe('█▅▃▁');
    expect(sparkline([2, 2, 2])).toBe('▄▄▄');
    expect(sparkline([3, 2, 1, 0], 2)).toBe('█▁');
    expect(sparkline([])).toBe('');
  });

  it('draws a progress bar clamped to 0–100 %', () => {
    expect(progressBar(0.5, 10)).toBe('[#####-----]  50%');
    expect(progressBar(2, 4)).toBe('[####] 100%');
    expect(progressBar(NaN, 4)).toBe('[----]   0%');
  });

  it('writes sizes, numbers and dates for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatNumber(0.123456789)).toBe('0.123457');
    expect(formatNumber(42)).toBe('42');
    expect(formatDate('2026-03-01T12:00:00.123Z')).toBe('2026-03-01 12:00:00Z');
  });
});
