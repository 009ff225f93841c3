import type {
  MaasClient,
  TrainingEvent,
  TrainingJob,
  TrainingJobCreate,
  TrainingJobStatus,
} from '@maas/sdk';
import { type CommandSpec, UsageError } from '../args.js';
import { CliError, type Context } from '../context.js';
import { fields, formatDate, formatNumber, progressBar, sparkline, table } from '../format.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
/** Exit code when Ctrl-C leaves a job running (the shell's code for SIGINT). */
const DETACHED = 130;
/** `jobs logs` without --follow stops once the stream has been quiet this long (after its first answer). */
const LOGS_QUIET_MS = 1_000;
const LOGS_FIRST_ANSWER_MS = 10_000;

/** `k=v` pairs: values are JSON when they parse (`0.1`, `[32,16]`, `true`), else text. */
export function parseParams(pairs: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param '${pair}' is not k=v`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: the text itself (`activation=relu`).
    }
    params[pair.slice(0, eq)] = value;
  }
  return params;
}

/** One event as a line for logs and non-terminal progress. */
export function describeEvent(event: TrainingEvent): string {
  switch (event.type) {
    case 'state': {
      const d = event.data;
      const extra = [
        d.attempt !== undefined ? `attempt ${d.attempt}` : '',
        d.modelVersion ? `${d.modelVersion.model} v${d.modelVersion.version}` : '',
        d.retrying ? 'will retry' : '',
        d.error ?? '',
      ].filter(Boolean);
      return `state     ${d.status}${extra.length ? ` (${extra.join(', ')})` : ''}`;
    }
    case 'progress': {
      const d = event.data;
      if (d.epoch !== undefined) {
        const parts = [`epoch ${d.epoch}/${d.epochs ?? '?'}`];
        if (d.loss !== undefined) parts.push(`loss ${formatNumber(d.loss)}`);
        if (d.valLoss !== undefined) parts.push(`val_loss ${formatNumber(d.valLoss)}`);
        if (d.accuracy !== undefined) parts.push(`accuracy ${formatNumber(d.accuracy)}`);
        return `progress  ${parts.join('  ')}`;
      }
      if (d.stage !== undefined) {
        const alpha =
          d.ccpAlpha !== undefined ? `, ccpAlpha ${formatNumber(d.ccpAlpha as number)}` : '';
        return `progress  tree ${d.stage}: ${d.nodes} nodes, ${d.leaves} leaves, depth ${d.depth}${alpha}`;
      }
      const { at: _at, ...rest } = d;
      return `progress  ${Object.entries(rest)
        .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : String(v)}`)
        .join('  ')}`;
    }
    case 'log':
      return `log       ${event.data.message}`;
    case 'end':
      return `end       ${event.data.status}${event.data.error ? ` (${event.data.error})` : ''}`;
  }
}

const eventTime = (event: TrainingEvent) =>
  formatDate('at' in event.data ? (event.data.at as string | undefined) : undefined);

/**
 * The live view of `train --wait`: on a terminal one line redrawn in place (status, a bar of
 * epochs, the loss and its sparkline); elsewhere a line per event.
 */
class ProgressView {
  private readonly losses: number[] = [];
  private status = 'queued';
  private progress = '';
  private fraction: number | undefined;
  paused = false;

  constructor(
    private readonly ctx: Context,
    private readonly job: TrainingJob,
  ) {}

  private get tty(): boolean {
    return this.ctx.io.stderr.isTTY === true;
  }

  update(event: TrainingEvent): void {
    if (event.type === 'state') this.status = event.data.status;
    if (event.type === 'end') this.status = event.data.status;
    if (event.type === 'progress') {
      const d = event.data;
      const loss = d.valLoss ?? d.loss;
      if (typeof loss === 'number') this.losses.push(loss);
      if (d.epoch !== undefined && d.epochs) {
        this.fraction = d.epoch / d.epochs;
        this.progress = `epoch ${d.epoch}/${d.epochs}${loss !== undefined ? `  loss ${formatNumber(loss)}` : ''}`;
      } else if (d.stage !== undefined) {
        this.progress = `tree ${d.stage}: ${d.nodes ?? '?'} nodes, depth ${d.depth ?? '?'}`;
      }
    }
    if (this.paused) return;
    if (!this.tty) {
      const spark =
        event.type === 'progress' && this.losses.length > 1 ? `  ${sparkline(this.losses)}` : '';
      this.ctx.note(`${describeEvent(event)}${spark}\n`);
      return;
    }
    this.draw();
  }

  draw(): void {
    if (!this.tty || this.paused) return;
    const bar = this.fraction !== undefined ? `${progressBar(this.fraction, 20)} ` : '';
    const spark = this.losses.length > 1 ? `  ${sparkline(this.losses, 24)}` : '';
    const line = `${this.job.modelName} (${this.job.algorithm}) ${this.status} ${bar}${this.progress}${spark}`;
    this.ctx.note(`\r${line}\x1b[K`);
  }

  end(): void {
    if (this.tty) this.ctx.note('\n');
  }
}

async function resolveDatasetId(client: MaasClient, given: string): Promise<string> {
  if (UUID.test(given)) return given;
  for await (const dataset of client.datasets.all()) {
    if (dataset.name === given) return dataset.id;
  }
  throw new CliError(`no dataset named '${given}' (maas datasets list)`);
}

/** Follows a job to its end, printing progress; Ctrl-C asks whether to cancel it. */
async function follow(ctx: Context, client: MaasClient, job: TrainingJob): Promise<number> {
  const view = new ProgressView(ctx, job);
  const hangUp = new AbortController();
  let detached = false;
  let asking = false;
  const stopListening = ctx.io.onInterrupt(() => {
    if (asking) {
      // A second Ctrl-C while asking: leave without cancelling.
      detached = true;
      hangUp.abort();
      return;
    }
    asking = true;
    view.paused = true;
    void ctx
      .ask(`\nCancel training job ${job.id}? [y/N] `)
      .then(async (answer) => {
        if (answer?.trim().toLowerCase().startsWith('y')) {
          await client.training.cancel(job.id);
          ctx.note('Cancelling…\n');
        } else {
          detached = true;
          hangUp.abort();
        }
      })
      .catch((error: unknown) => ctx.note(`could not cancel: ${(error as Error).message}\n`))
      .finally(() => {
        asking = false;
        view.paused = false;
        view.draw();
      });
  });
  let final: TrainingJob | undefined;
  try {
    final = await client.training.wait(job.id, {
      signal: hangUp.signal,
      onEvent: (event) => view.update(event),
    });
  } catch (error) {
    if (!detached) throw error;
  } finally {
    stopListening();
    view.end();
  }
  if (detached || !final) {
    ctx.note(`Job ${job.id} keeps running; follow it with: maas jobs logs ${job.id} --follow\n`);
    return DETACHED;
  }
  if (ctx.json) ctx.printJson(final);
  else ctx.out(summary(final));
  if (final.status === 'succeeded') return 0;
  if (!ctx.json)
    ctx.note(
      `error: training job ${final.id} ${final.status}${final.error ? `: ${final.error}` : ''}\n`,
    );
  return 1;
}

function summary(job: TrainingJob): string {
  const metrics = (job.metrics ?? {}) as Record<string, unknown>;
  const shown = ['accuracy', 'rmse', 'r2', 'mae', 'epochsRun', 'stoppedBy']
    .filter((k) => metrics[k] !== undefined)
    .map(
      (k) =>
        `${k} ${typeof metrics[k] === 'number' ? formatNumber(metrics[k]) : String(metrics[k])}`,
    );
  const version = job.modelVersion
    ? ` → ${job.modelVersion.model} v${job.modelVersion.version}`
    : '';
  return `Job ${job.id} ${job.status}${version}${shown.length ? ` (${shown.join(', ')})` : ''} in ${formatNumber(job.trainingSeconds)} s\n`;
}

/** `maas models optimize`: int8 / fp16 / pruning of a version, as a job like training. */
const optimizeCommand: CommandSpec<Context> = {
  path: ['models', 'optimize'],
  args: [{ name: 'NAME' }, { name: 'VERSION' }],
  options: [
    {
      name: 'quantize',
      value: 'KIND',
      choices: ['int8', 'fp16'],
      description: 'int8 (dynamic, uint8 weights) or fp16',
    },
    { name: 'prune', value: 'SPARSITY', description: 'magnitude pruning, 0 to 0.95' },
    {
      name: 'max-drop',
      value: 'POINTS',
      description: 'refuse a result that lost more accuracy than this (default 1)',
    },
    { name: 'wait', description: 'follow the job to its end; Ctrl-C asks to cancel' },
  ],
  summary: 'Optimise a version into a new one (int8, fp16, pruning), with a report',
  description:
    "The new version's metrics.optimization says its size, latency at batch 1 and 32 and\n" +
    'accuracy before and after (maas models show NAME --json).',
  examples: [
    'maas models optimize iris-mlp 1 --quantize int8 --wait',
    'maas models optimize iris-mlp 1 --prune 0.5 --max-drop 2 --wait',
  ],
  async run(ctx, { args, options }) {
    const number = (text: unknown, what: string) => {
      const value = Number(text);
      if (text === undefined) return null;
      if (!Number.isFinite(value))
        throw new UsageError(`--${what} takes a number, got '${String(text)}'`);
      return value;
    };
    const quantize = (options.quantize as 'int8' | 'fp16' | undefined) ?? null;
    const pruneSparsity = number(options.prune, 'prune');
    if (quantize === null && pruneSparsity === null) {
      throw new UsageError('give --quantize, --prune or both');
    }
    const maxAccuracyDrop = number(options['max-drop'], 'max-drop');
    const client = await ctx.tenantClient();
    const [name, version] = [args.NAME as string, args.VERSION as string];
    const job = await client.models.versions.optimize(name, version, {
      quantize,
      pruneSparsity,
      ...(maxAccuracyDrop !== null && { maxAccuracyDrop }),
    });
    if (!options.wait) {
      if (ctx.json) return ctx.printJson(job);
      ctx.out(`Job ${job.id} ${job.status}: optimise ${name} v${version}\n`);
      return;
    }
    ctx.note(`Job ${job.id} ${job.status}: optimise ${name} v${version}\n`);
    return follow(ctx, client, job);
  },
};

export const trainingCommands: CommandSpec<Context>[] = [
  optimizeCommand,
  {
    path: ['train'],
    args: [],
    options: [
      { name: 'dataset', value: 'ID', description: 'the dataset (its id, or its name)' },
      { name: 'target', value: 'COL', description: 'the column to predict' },
      {
        name: 'algorithm',
        value: 'ALGO',
        choices: ['mlp', 'decision_tree'],
        description: 'what to train',
      },
      { name: 'model', value: 'NAME', description: 'the model the trained version goes to' },
      {
        name: 'task',
        value: 'TASK',
        choices: ['classification', 'regression'],
        description: "default: from the target column's type",
      },
      {
        name: 'features',
        value: 'A,B,...',
        description: 'input columns (default: all but the target)',
      },
      {
        name: 'param',
        short: 'p',
        value: 'k=v',
        multiple: true,
        description: 'a hyperparameter (repeatable)',
      },
      {
        name: 'wait',
        description: 'follow the job: progress, loss sparkline; Ctrl-C asks to cancel',
      },
    ],
    summary: 'Start a training job (and with --wait, follow it to the end)',
    description:
      'With --wait the exit code is 0 only if the job succeeded (1 if it failed or was\n' +
      'cancelled; 130 if Ctrl-C left it running).',
    examples: [
      'maas train --dataset iris --target species --algorithm decision_tree --model iris --wait',
      'maas train --dataset iris --target species --algorithm mlp --model iris-mlp -p epochs=30 -p hiddenLayers=[16] --wait',
    ],
    async run(ctx, { options }) {
      for (const required of ['dataset', 'target', 'algorithm', 'model']) {
        if (options[required] === undefined) throw new UsageError(`--${required} is required`);
      }
      const client = await ctx.tenantClient();
      const datasetId = await resolveDatasetId(client, options.dataset as string);
      const target = options.target as string;
      let task = options.task as TrainingJobCreate['task'] | undefined;
      if (!task) {
        const dataset = await client.datasets.get(datasetId);
        const column = dataset.columns.find((c) => c.name === target);
        task = column?.type === 'numeric' ? 'regression' : 'classification';
      }
      const job = await client.training.create({
        datasetId,
        target,
        algorithm: options.algorithm as TrainingJobCreate['algorithm'],
        task,
        modelName: options.model as string,
        ...(options.features !== undefined && {
          features: (options.features as string).split(',').map((f) => f.trim()),
        }),
        hyperparameters: parseParams((options.param as string[] | undefined) ?? []),
      });
      if (!options.wait) {
        if (ctx.json) return ctx.printJson(job);
        ctx.out(
          `Job ${job.id} ${job.status}: ${job.algorithm} ${job.task} of ${job.target} → ${job.modelName}\n`,
        );
        return;
      }
      ctx.note(
        `Job ${job.id} ${job.status}: ${job.algorithm} ${job.task} of ${job.target} → ${job.modelName}\n`,
      );
      return follow(ctx, client, job);
    },
  },
  {
    path: ['jobs', 'list'],
    args: [],
    options: [
      { name: 'status', value: 'S', choices: STATUSES, description: 'only jobs in this state' },
    ],
    summary: 'List training jobs, newest first',
    async run(ctx, { options }) {
      const client = await ctx.tenantClient();
      const jobs: TrainingJob[] = [];
      for await (const job of client.training.all(
        options.status as TrainingJobStatus | undefined,
      )) {
        jobs.push(job);
      }
      if (ctx.json) return ctx.printJson(jobs);
      if (jobs.length === 0) return ctx.out('No training jobs.\n');
      ctx.out(
        table(jobs, [
          { header: 'id', value: (j) => j.id },
          { header: 'status', value: (j) => j.status },
          { header: 'model', value: (j) => j.modelName },
          { header: 'algorithm', value: (j) => j.algorithm },
          {
            header: 'version',
            value: (j) => (j.modelVersion ? `v${j.modelVersion.version}` : '-'),
          },
          { header: 'seconds', value: (j) => j.trainingSeconds, right: true },
          { header: 'created', value: (j) => formatDate(j.createdAt) },
        ]),
      );
    },
  },
  {
    path: ['jobs', 'show'],
    args: [{ name: 'ID' }],
    options: [],
    summary: 'Show a training job',
    async run(ctx, { args }) {
      const job = await (await ctx.tenantClient()).training.get(args.ID as string);
      if (ctx.json) return ctx.printJson(job);
      ctx.out(
        fields([
          ['id', job.id],
          ['status', job.status],
          [
            'model',
            job.modelVersion
              ? `${job.modelVersion.model} v${job.modelVersion.version}`
              : job.modelName,
          ],
          ['algorithm', `${job.algorithm} (${job.task})`],
          ['dataset', job.datasetId],
          ['target', job.target],
          ['features', job.features.join(', ')],
          ['hyperparameters', job.hyperparameters],
          ['progress', job.progress],
          ['metrics', job.metrics],
          ['error', job.error],
          ['attempts', job.attempts],
          ['training seconds', job.trainingSeconds],
          ['created', formatDate(job.createdAt)],
          ['finished', formatDate(job.finishedAt)],
        ]),
      );
    },
  },
  {
    path: ['jobs', 'cancel'],
    args: [{ name: 'ID' }],
    options: [],
    summary: 'Cancel a training job',
    async run(ctx, { args }) {
      const job = await (await ctx.tenantClient()).training.cancel(args.ID as string);
      if (ctx.json) return ctx.printJson(job);
      ctx.out(
        `Job ${job.id} ${job.cancelRequested && job.status === 'running' ? 'cancelling' : job.status}\n`,
      );
    },
  },
  {
    path: ['jobs', 'logs'],
    args: [{ name: 'ID' }],
    options: [{ name: 'follow', short: 'f', description: 'keep printing until the job ends' }],
    summary: "A job's events (state changes, progress, logs)",
    async run(ctx, { args, options }) {
      const client = await ctx.tenantClient();
      const id = args.ID as string;
      const quiet = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Without --follow a running job's stream stays open: stop once the replay is done.
      const arm = (ms: number) => {
        if (options.follow) return;
        clearTimeout(timer);
        timer = setTimeout(() => quiet.abort(), ms);
      };
      const events: TrainingEvent[] = [];
      arm(LOGS_FIRST_ANSWER_MS);
      try {
        for await (const event of client.training.events(id, { signal: quiet.signal })) {
          arm(LOGS_QUIET_MS);
          if (ctx.json) events.push(event);
          else ctx.out(`${eventTime(event)}  ${describeEvent(event)}\n`);
        }
      } catch (error) {
        if (!quiet.signal.aborted) throw error;
      } finally {
        clearTimeout(timer);
      }
      if (ctx.json) ctx.printJson(events);
    },
  },
];
