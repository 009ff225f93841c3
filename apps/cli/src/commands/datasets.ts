import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Dataset } from '@maas/sdk';
import type { CommandSpec } from '../args.js';
import { CliError, type Context } from '../context.js';
import { fields, formatBytes, formatDate, table } from '../format.js';

const columnsOf = (dataset: Dataset) =>
  dataset.columns.map((c) => `${c.name} (${c.type})`).join(', ');

export const datasetCommands: CommandSpec<Context>[] = [
  {
    path: ['datasets', 'upload'],
    args: [{ name: 'FILE' }],
    options: [
      { name: 'name', value: 'N', description: 'the dataset name (default: the file name)' },
    ],
    summary: 'Upload a CSV dataset (header row first) for training',
    examples: ['maas datasets upload iris.csv --name iris'],
    async run(ctx, { args, options }) {
      const file = args.FILE as string;
      await stat(file).catch(() => {
        throw new CliError(`cannot read ${file}`);
      });
      const name = (options.name as string | undefined) ?? basename(file).replace(/\.[^.]+$/, '');
      const client = await ctx.tenantClient();
      const dataset = await client.datasets.upload(name, { path: file });
      if (ctx.json) return ctx.printJson(dataset);
      ctx.out(
        `Dataset ${dataset.id} ${dataset.name}: ${dataset.rows} rows, ${formatBytes(dataset.sizeBytes)}\n` +
          `  columns: ${columnsOf(dataset)}\n`,
      );
    },
  },
  {
    path: ['datasets', 'list'],
    args: [],
    options: [],
    summary: "List the tenant's datasets",
    async run(ctx) {
      const client = await ctx.tenantClient();
      const datasets: Dataset[] = [];
      for await (const dataset of client.datasets.all()) datasets.push(dataset);
      if (ctx.json) return ctx.printJson(datasets);
      if (datasets.length === 0) return ctx.out('No datasets yet: maas datasets upload FILE\n');
      ctx.out(
        table(datasets, [
          { header: 'id', value: (d) => d.id },
          { header: 'name', value: (d) => d.name },
          { header: 'rows', value: (d) => d.rows, right: true },
          { header: 'columns', value: (d) => d.columns.length, right: true },
          { header: 'size', value: (d) => formatBytes(d.sizeBytes), right: true },
          { header: 'created', value: (d) => formatDate(d.createdAt) },
        ]),
      );
    },
  },
  {
    path: ['datasets', 'show'],
    args: [{ name: 'ID' }],
    options: [],
    summary: 'Show a dataset and its columns',
    async run(ctx, { args }) {
      const dataset = await (await ctx.tenantClient()).datasets.get(args.ID as string);
      if (ctx.json) return ctx.printJson(dataset);
      ctx.out(
        fields([
          ['id', dataset.id],
          ['name', dataset.name],
          ['rows', dataset.rows],
          ['size', formatBytes(dataset.sizeBytes)],
          ['sha256', dataset.sha256],
          ['columns', columnsOf(dataset)],
          ['created', formatDate(dataset.createdAt)],
        ]),
      );
    },
  },
  {
    path: ['datasets', 'delete'],
    args: [{ name: 'ID' }],
    options: [],
    summary: 'Delete a dataset',
    async run(ctx, { args }) {
      await (await ctx.tenantClient()).datasets.delete(args.ID as string);
      if (ctx.json) return ctx.printJson({ deleted: args.ID });
      ctx.out(`Deleted dataset ${args.ID as string}\n`);
    },
  },
];
