import { useState } from 'react';
import { api } from '../api/client';
import type { Usage } from '../api/types';
import { Chart } from '../charts/charts';
import { formatNumber, formatShare, startOfMonthUtc } from '../lib/format';
import { useAsync } from '../lib/use-async';
import { DataTable } from './DataTable';
import { QuotaMeter } from './quotas';
import { AsyncView, Empty, Facts, FilterSelect, Panel } from './ui';

const RANGES = [
  { value: 'month', label: 'This month' },
  { value: '7', label: 'Last 7 days' },
  { value: '30', label: 'Last 30 days' },
];

export function rangeOf(choice: string, now = new Date()): { from: Date; to: Date } {
  if (choice === 'month') return { from: startOfMonthUtc(now), to: now };
  const days = Number(choice);
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  from.setUTCDate(from.getUTCDate() - (days - 1));
  return { from, to: now };
}

/** Every UTC day from `from` to `to`, with the usage of the days that had any (else zero). */
export function dailySeries(usage: Usage, from: Date, to: Date) {
  const byDay = new Map(usage.items.map((item) => [item.key, item]));
  const x: number[] = [];
  const requests: number[] = [];
  const errors: number[] = [];
  const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  while (day.getTime() <= to.getTime()) {
    const key = day.toISOString().slice(0, 10);
    x.push(day.getTime() / 1000);
    requests.push(byDay.get(key)?.requests ?? 0);
    errors.push(byDay.get(key)?.errors ?? 0);
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return { x, requests, errors };
}

/**
 * Usage over a range, per day (a line with the daily requests and errors) and per `groupBy`
 * (bars), from `/api/usage` or `/api/admin/usage`. `quota`: the monthly request limit to
 * compare this month's total with; `nameOf` turns a group's key (a tenant id) into a name.
 */
export function UsageCharts({
  path,
  groupBy,
  groupLabel,
  quota,
  nameOf = (key) => key || '(no model)',
  extraQuery = '',
}: {
  path: string;
  groupBy: string;
  groupLabel: string;
  quota?: number | null;
  nameOf?: (key: string) => string;
  extraQuery?: string;
}) {
  const [range, setRange] = useState('month');
  const usage = useAsync(
    async (signal) => {
      const { from, to } = rangeOf(range);
      const query = `from=${from.toISOString()}&to=${to.toISOString()}${extraQuery}`;
      const [daily, grouped] = await Promise.all([
        api<Usage>(`${path}?${query}&groupBy=day`, { signal }),
        api<Usage>(`${path}?${query}&groupBy=${groupBy}`, { signal }),
      ]);
      return { daily, grouped, from, to };
    },
    [range, path, groupBy, extraQuery],
    { pollMs: 15_000 },
  );

  return (
    <>
      <Panel
        title="Requests per day"
        testId="usage-daily"
        actions={<FilterSelect label="Range" value={range} onValue={setRange} options={RANGES} />}
      >
        <AsyncView state={usage} rows={5}>
          {({ daily, from, to }) => {
            const series = dailySeries(daily, from, to);
            const used = daily.totals.requests;
            return (
              <>
                <Facts
                  items={[
                    ['Requests', formatNumber(used)],
                    ['Rows', formatNumber(daily.totals.rows)],
                    ['Errors', formatNumber(daily.totals.errors)],
                    ...(quota !== undefined && range === 'month'
                      ? ([
                          [
                            'Monthly quota',
                            quota === null
                              ? 'unlimited'
                              : `${formatNumber(used)} of ${formatNumber(quota)} (${formatShare(used, quota)})`,
                          ],
                        ] as [string, string][])
                      : []),
                  ]}
                />
                {quota != null && range === 'month' && (
                  <QuotaMeter
                    used={used}
                    limit={quota}
                    label="Share of the monthly request quota used"
                  />
                )}
                <Chart
                  title="Requests and errors per day (UTC)"
                  testId="usage-daily-chart"
                  time
                  x={series.x}
                  series={[
                    { label: 'requests', values: series.requests },
                    { label: 'errors', values: series.errors, color: '#dc2626' },
                  ]}
                  summary={`${formatNumber(used)} request${used === 1 ? '' : 's'} from ${from.toISOString().slice(0, 10)} to ${to.toISOString().slice(0, 10)}`}
                />
              </>
            );
          }}
        </AsyncView>
      </Panel>
      <Panel title={`Requests per ${groupLabel}`} testId="usage-grouped">
        <AsyncView state={usage} rows={4}>
          {({ grouped }) =>
            grouped.items.length === 0 ? (
              <Empty>No requests in this range.</Empty>
            ) : (
              <>
                <Chart
                  title={`Requests per ${groupLabel}`}
                  testId="usage-grouped-chart"
                  categories={grouped.items.map((item) => nameOf(item.key))}
                  x={grouped.items.map((_, i) => i)}
                  series={[
                    { label: 'requests', values: grouped.items.map((item) => item.requests) },
                  ]}
                  summary={`errors per ${groupLabel} are in the table below`}
                />
                <DataTable
                  label={`Usage per ${groupLabel}`}
                  rows={grouped.items}
                  rowKey={(item) => item.key}
                  columns={[
                    { header: groupLabel, cell: (item) => nameOf(item.key) },
                    { header: 'Requests', cell: (item) => formatNumber(item.requests) },
                    { header: 'Rows', cell: (item) => formatNumber(item.rows) },
                    { header: 'Errors', cell: (item) => formatNumber(item.errors) },
                    {
                      header: 'Mean latency',
                      cell: (item) => `${formatNumber(item.avgLatencyMs, 1)} ms`,
                    },
                  ]}
                />
              </>
            )
          }
        </AsyncView>
      </Panel>
    </>
  );
}
