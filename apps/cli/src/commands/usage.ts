import type { CommandSpec } from '../args.js';
import { UsageError } from '../args.js';
import type { Context } from '../context.js';
import { formatDate, formatNumber, table } from '../format.js';

/** `2026-03-01` → the start of that day (UTC); a full ISO instant passes as it is. */
export function parseInstant(text: string, option: string): string {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  const at = Date.parse(day);
  if (Number.isNaN(at)) {
    throw new UsageError(`${option} '${text}' is not a date (YYYY-MM-DD) or an ISO 8601 instant`);
  }
  return new Date(at).toISOString();
}

export const usageCommands: CommandSpec<Context>[] = [
  {
    path: ['usage'],
    args: [],
    options: [
      {
        name: 'from',
        value: 'DATE',
        description: 'start (YYYY-MM-DD or ISO 8601; default: start of this month)',
      },
      { name: 'to', value: 'DATE', description: 'end (default: now)' },
      {
        name: 'by',
        value: 'GROUP',
        choices: ['day', 'model', 'key'],
        description: 'rows per (default: day)',
      },
    ],
    summary: "The tenant's inference usage as a table",
    examples: ['maas usage --by model', 'maas usage --from 2026-03-01 --to 2026-03-31 --by day'],
    async run(ctx, { options }) {
      const from = options.from ? parseInstant(options.from as string, '--from') : undefined;
      const to = options.to ? parseInstant(options.to as string, '--to') : undefined;
      const client = await ctx.tenantClient();
      const usage = await client.usage.get({
        from,
        to,
        groupBy: options.by as 'day' | 'model' | 'key' | undefined,
      });
      if (ctx.json) return ctx.printJson(usage);
      ctx.out(`Usage ${formatDate(usage.from)} → ${formatDate(usage.to)}\n\n`);
      const by = (options.by as string | undefined) ?? 'day';
      ctx.out(
        table(
          [...usage.items, { key: 'total', ...usage.totals, avgLatencyMs: undefined }],
          [
            { header: by, value: (r) => (r.key === '' ? '(none)' : r.key) },
            { header: 'requests', value: (r) => r.requests, right: true },
            { header: 'rows', value: (r) => r.rows, right: true },
            { header: 'errors', value: (r) => r.errors, right: true },
            {
              header: 'avg ms',
              value: (r) => (r.avgLatencyMs === undefined ? '' : formatNumber(r.avgLatencyMs)),
              right: true,
            },
          ],
        ),
      );
    },
  },
];
