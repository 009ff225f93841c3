import { basename } from 'node:path';
import { stat } from 'node:fs/promises';
import { MaasApiError, type Model, type ModelVersion, type UploadProgress } from '@maas/sdk';
import { type CommandSpec, UsageError } from '../args.js';
import { CliError, type Context } from '../context.js';
import { fields, formatBytes, formatDate, progressBar, table } from '../format.js';

const labelsOf = (model: Model) =>
  Object.entries(model.labels ?? {})
    .map(([label, { versions }]) => {
      const split = Object.entries(versions);
      return split.length === 1
        ? `${label}→v${split[0]![0]}`
        : `${label}→${split.map(([v, w]) => `v${v}:${w}%`).join(',')}`;
    })
    .join(' ');

/** `3` → 3; `3=90,4=10` → {"3": 90, "4": 10}. */
export function parseLabelTarget(text: string): number | Record<string, number> {
  if (/^\d+$/.test(text)) return Number(text);
  const split: Record<string, number> = {};
  for (const part of text.split(',')) {
    const match = /^(\d+)=(\d+(?:\.\d+)?)$/.exec(part.trim());
    if (!match) {
      throw new UsageError(`'${text}' is not VERSION or VERSION=WEIGHT,... (e.g. 3 or 3=90,4=10)`);
    }
    split[match[1]!] = Number(match[2]);
  }
  return split;
}

/** `.zip`, `.tar.gz` and `.tgz` are TF.js archives; anything else is taken as ONNX. */
export function formatOfFile(file: string): 'onnx' | 'tfjs' {
  return /\.(zip|tar\.gz|tgz)$/i.test(file) ? 'tfjs' : 'onnx';
}

function versionLine(version: ModelVersion): string {
  const sha = version.sha256 ? `, sha256 ${version.sha256.slice(0, 12)}…` : '';
  const reason = version.statusReason ? ` (${version.statusReason})` : '';
  return `${version.model} v${version.version} ${version.status}${reason}: ${version.format}, ${formatBytes(version.sizeBytes)}${sha}\n`;
}

/** A progress bar redrawn in place on a terminal; nothing elsewhere (logs stay clean). */
function uploadProgress(ctx: Context, what: string) {
  const tty = ctx.io.stderr.isTTY === true;
  let lastDraw = 0;
  return {
    onProgress(progress: UploadProgress) {
      if (!tty) return;
      const now = Date.now();
      const done = progress.total !== undefined && progress.loaded >= progress.total;
      if (now - lastDraw < 100 && !done) return;
      lastDraw = now;
      const fraction = progress.total ? progress.loaded / progress.total : 0;
      ctx.note(
        `\r${what} ${progressBar(fraction)} ${formatBytes(progress.loaded)}${progress.total ? ` / ${formatBytes(progress.total)}` : ''}   `,
      );
    },
    end() {
      if (tty) ctx.note('\n');
    },
  };
}

export const modelCommands: CommandSpec<Context>[] = [
  {
    path: ['models', 'list'],
    args: [],
    options: [],
    summary: "List the tenant's models",
    async run(ctx) {
      const client = await ctx.tenantClient();
      const models: Model[] = [];
      for await (const model of client.models.all()) models.push(model);
      if (ctx.json) return ctx.printJson(models);
      if (models.length === 0) return ctx.out('No models yet: maas models upload NAME FILE\n');
      ctx.out(
        table(models, [
          { header: 'name', value: (m) => m.name },
          { header: 'labels', value: (m) => labelsOf(m) || '-' },
          { header: 'description', value: (m) => m.description },
          { header: 'created', value: (m) => formatDate(m.createdAt) },
        ]),
      );
    },
  },
  {
    path: ['models', 'create'],
    args: [{ name: 'NAME' }],
    options: [{ name: 'description', value: 'TEXT', description: 'what the model is for' }],
    summary: 'Create a model (a name that versions are uploaded under)',
    async run(ctx, { args, options }) {
      const client = await ctx.tenantClient();
      const model = await client.models.create({
        name: args.NAME as string,
        ...(options.description !== undefined && { description: options.description as string }),
      });
      if (ctx.json) return ctx.printJson(model);
      ctx.out(`Created model ${model.name}\n`);
    },
  },
  {
    path: ['models', 'show'],
    args: [{ name: 'NAME' }],
    options: [],
    summary: 'Show a model, its labels and versions',
    async run(ctx, { args }) {
      const client = await ctx.tenantClient();
      const name = args.NAME as string;
      const model = await client.models.get(name);
      const versions: ModelVersion[] = [];
      let cursor: number | undefined;
      for (;;) {
        const page = await client.models.versions.list(name, { cursor, limit: 200 });
        versions.push(...page.items);
        if (page.nextCursor === null) break;
        cursor = Number(page.nextCursor);
      }
      if (ctx.json) return ctx.printJson({ ...model, versions });
      ctx.out(
        fields([
          ['name', model.name],
          ['description', model.description],
          ['labels', labelsOf(model) || '-'],
          ['created', formatDate(model.createdAt)],
        ]),
      );
      if (versions.length === 0) return ctx.out('\nNo versions yet.\n');
      ctx.out('\n');
      ctx.out(
        table(versions, [
          { header: 'version', value: (v) => v.version, right: true },
          { header: 'status', value: (v) => v.status },
          { header: 'format', value: (v) => v.format },
          { header: 'size', value: (v) => formatBytes(v.sizeBytes), right: true },
          { header: 'sha256', value: (v) => v.sha256?.slice(0, 12) },
          { header: 'created', value: (v) => formatDate(v.createdAt) },
        ]),
      );
    },
  },
  {
    path: ['models', 'delete'],
    args: [{ name: 'NAME' }],
    options: [],
    summary: 'Delete a model and all its versions',
    async run(ctx, { args }) {
      const client = await ctx.tenantClient();
      await client.models.delete(args.NAME as string);
      if (ctx.json) return ctx.printJson({ deleted: args.NAME });
      ctx.out(`Deleted model ${args.NAME as string}\n`);
    },
  },
  {
    path: ['models', 'upload'],
    args: [{ name: 'NAME' }, { name: 'FILE' }],
    options: [
      {
        name: 'format',
        value: 'FORMAT',
        choices: ['onnx', 'tfjs'],
        description: 'artifact format (default: tfjs for .zip/.tar.gz, else onnx)',
      },
    ],
    summary: 'Upload a model file as a new version (creates the model if needed)',
    description:
      'Streams the file with a progress bar (on a terminal); the gateway validates it before\n' +
      'answering, so the version printed is ready to serve, or the error says why not.',
    examples: ['maas models upload iris ./iris.onnx', 'maas models upload digits model.tar.gz'],
    async run(ctx, { args, options }) {
      const client = await ctx.tenantClient();
      const name = args.NAME as string;
      const file = args.FILE as string;
      const size = await stat(file).then(
        (s) => s.size,
        () => {
          throw new CliError(`cannot read ${file}`);
        },
      );
      const format = (options.format as 'onnx' | 'tfjs' | undefined) ?? formatOfFile(file);
      try {
        await client.models.get(name);
      } catch (error) {
        if (!(error instanceof MaasApiError && error.status === 404)) throw error;
        await client.models.create({ name });
        ctx.note(`Created model ${name}\n`);
      }
      const progress = uploadProgress(ctx, `${basename(file)} (${formatBytes(size)})`);
      let version: ModelVersion;
      try {
        version = await client.models.versions.upload(
          name,
          { path: file },
          { format, onProgress: progress.onProgress },
        );
      } finally {
        progress.end();
      }
      if (ctx.json) return ctx.printJson(version);
      ctx.out(versionLine(version));
    },
  },
  {
    path: ['models', 'label'],
    args: [{ name: 'NAME' }, { name: 'LABEL' }, { name: 'VERSION[=WEIGHT,...]' }],
    options: [],
    summary: 'Point a label at a version, or split its traffic between versions',
    description: "Label 'production' serves the requests that name no version.",
    examples: [
      'maas models label iris production 3',
      'maas models label iris production 3=90,4=10',
    ],
    async run(ctx, { args }) {
      const target = parseLabelTarget(args['VERSION[=WEIGHT,...]'] as string);
      const client = await ctx.tenantClient();
      const label = await client.models.setLabel(args.NAME as string, args.LABEL as string, target);
      if (ctx.json) return ctx.printJson(label);
      const split = Object.entries(label.versions)
        .map(([v, w]) => `v${v} ${w}%`)
        .join(', ');
      ctx.out(`${args.NAME as string} ${label.name} → ${split}\n`);
    },
  },
];
