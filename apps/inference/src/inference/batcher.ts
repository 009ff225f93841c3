import { DomainError, setIoDeadline } from '@maas/app-runtime';
import { type Tensor, concatTensors, splitTensor } from '@maas/tensors';

export interface BatcherOptions {
  /** Most rows stacked into one runtime call. 1 disables batching. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for company before a partial batch runs. */
  maxQueueDelayMs: number;
  /** Runtime calls in flight at once for this version. */
  concurrency: number;
  /** Requests waiting beyond those running; past it a request is shed (429). */
  maxQueue: number;
  /** A request still queued after this long fails with 504 instead of waiting on. */
  queueTimeoutMs: number;
  /** Whether requests may be stacked at all (false when dim 0 of the model is not free). */
  batchable: boolean;
}

/** What one runtime call did, for metrics and the response. */
export interface BatchRun {
  rows: number;
  requests: number;
  computeMs: number;
}

export interface BatchResult {
  outputs: Tensor[];
  /** Rows of the runtime call this request was part of. */
  batchRows: number;
  batchRequests: number;
  queueMs: number;
  /** Part of queueMs spent holding a partial batch open. */
  batchWaitMs: number;
  computeMs: number;
}

/** Runs the model on `inputs`, stacked from `requests` requests. */
export type RunFn = (
  inputs: Tensor[],
  outputNames: string[],
  requests: number,
) => Promise<Tensor[]>;

interface Job {
  inputs: Tensor[];
  outputNames: string[];
  rows: number;
  key: string;
  enqueuedAt: number;
  /** When a free slot first held this request back to wait for company. */
  holdSince?: number;
  timer?: NodeJS.Timeout;
  resolve: (result: BatchResult) => void;
  reject: (error: unknown) => void;
}

/** Requests that can share a runtime call: same inputs (datatypes, non-batch dims), same outputs. */
function compatibilityKey(inputs: readonly Tensor[], outputNames: readonly string[]): string {
  const parts = [...inputs]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}:${t.shape.length}`);
  return `${parts.join('|')}=>${outputNames.join(',')}`;
}

/** Rows of a request: the first dim of its first input (what it is billed for, too). */
export function rowsOf(inputs: readonly Tensor[]): number {
  const first = inputs[0];
  if (first === undefined || first.shape.length === 0) return 1;
  return first.shape[0] as number;
}

function consistentBatch(inputs: readonly Tensor[]): boolean {
  if (inputs.length === 0) return false;
  const rows = inputs[0]!.shape[0];
  return inputs.every((t) => t.shape.length > 0 && t.shape[0] === rows);
}

/**
 * Dynamic batching for one model version: concurrent requests whose non-batch dims match are
 * stacked along dim 0 into one runtime call (up to `maxBatchSize` rows, waiting at most
 * `maxQueueDelayMs` for company), and the outputs are split back. At most `concurrency` calls
 * run at once; beyond `maxQueue` waiting requests new ones are shed with RESOURCE_EXHAUSTED.
 */
export class Batcher {
  private readonly queue: Job[] = [];
  private running = 0;
  private delayTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private options: BatcherOptions,
    private readonly run: RunFn,
    private readonly onRun: (run: BatchRun) => void = () => undefined,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** New limits (serving config changed); applies to batches formed from now on. */
  configure(options: BatcherOptions): void {
    this.options = options;
    this.pump();
  }

  /**
   * Queues one request. Its inputs are the batcher's from here on: the run function may hand
   * their data to the runtime without a copy (ModelCacheService's does), so the caller must not
   * read the data afterwards (the tensors' shapes stay as they were).
   */
  submit(inputs: Tensor[], outputNames: string[]): Promise<BatchResult> {
    if (this.closed) {
      return Promise.reject(new DomainError('UNAVAILABLE', 'model version is being unloaded'));
    }
    if (this.queue.length >= this.options.maxQueue) {
      const error = new DomainError(
        'RESOURCE_EXHAUSTED',
        'model version is at capacity; retry shortly',
      ) as DomainError & { retryAfterSeconds: number };
      error.retryAfterSeconds = 1;
      return Promise.reject(error);
    }
    return new Promise<BatchResult>((resolve, reject) => {
      const job: Job = {
        inputs,
        outputNames,
        rows: rowsOf(inputs),
        key: compatibilityKey(inputs, outputNames),
        enqueuedAt: performance.now(),
        resolve,
        reject,
      };
      // (A slot freed by a run that finished during a stall is seen before this deadline.)
      job.timer = setIoDeadline(() => this.expire(job), this.options.queueTimeoutMs);
      job.timer.unref?.();
      this.queue.push(job);
      this.pump();
    });
  }

  /** Rejects what is still queued (unload); running calls finish. */
  close(): void {
    this.closed = true;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.timer);
      job.reject(new DomainError('UNAVAILABLE', 'model version was unloaded'));
    }
  }

  private expire(job: Job): void {
    const index = this.queue.indexOf(job);
    if (index < 0) return;
    this.queue.splice(index, 1);
    job.reject(
      new DomainError(
        'DEADLINE_EXCEEDED',
        `request waited ${this.options.queueTimeoutMs} ms for the model without being run`,
      ),
    );
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const batch = this.take();
      if (batch === undefined) return;
      this.dispatch(batch);
    }
  }

  /** The next batch to run now, or undefined when it is worth waiting for more requests. */
  private take(): Job[] | undefined {
    const head = this.queue[0]!;
    const { maxBatchSize, maxQueueDelayMs, batchable } = this.options;
    if (!batchable || head.rows >= maxBatchSize || !consistentBatch(head.inputs)) {
      this.queue.shift();
      return [head];
    }
    const picked: number[] = [0];
    let rows = head.rows;
    for (let i = 1; i < this.queue.length && rows < maxBatchSize; i++) {
      const job = this.queue[i]!;
      if (job.key !== head.key || rows + job.rows > maxBatchSize) continue;
      if (!consistentBatch(job.inputs)) continue;
      picked.push(i);
      rows += job.rows;
    }
    const waited = performance.now() - head.enqueuedAt;
    if (rows < maxBatchSize && maxQueueDelayMs > 0 && waited < maxQueueDelayMs) {
      head.holdSince ??= performance.now();
      if (!this.delayTimer) {
        this.delayTimer = setTimeout(
          () => {
            this.delayTimer = undefined;
            this.pump();
          },
          Math.max(1, maxQueueDelayMs - waited),
        );
      }
      return undefined;
    }
    const jobs: Job[] = [];
    for (let i = picked.length - 1; i >= 0; i--) jobs.unshift(this.queue.splice(picked[i]!, 1)[0]!);
    return jobs;
  }

  private dispatch(jobs: Job[]): void {
    this.running++;
    for (const job of jobs) clearTimeout(job.timer);
    void this.execute(jobs).finally(() => {
      this.running--;
      if (!this.closed) this.pump();
    });
  }

  private async execute(jobs: Job[]): Promise<void> {
    const started = performance.now();
    const rows = jobs.reduce((sum, job) => sum + job.rows, 0);
    const first = jobs[0]!;
    const batchWaitMs = first.holdSince === undefined ? 0 : started - first.holdSince;
    try {
      let perJob: Tensor[][];
      if (jobs.length === 1) {
        perJob = [await this.run(first.inputs, first.outputNames, 1)];
      } else {
        const inputs = first.inputs.map((input) =>
          concatTensors(
            jobs.map((job) => job.inputs.find((candidate) => candidate.name === input.name)!),
          ),
        );
        const outputs = await this.run(inputs, first.outputNames, jobs.length);
        const counts = jobs.map((job) => job.rows);
        const pieces = outputs.map((output) => {
          if (output.shape.length === 0 || output.shape[0] !== rows) {
            throw new DomainError(
              'INTERNAL',
              `output '${output.name}' has no batch dimension matching ${rows} rows`,
            );
          }
          return splitTensor(output, counts);
        });
        perJob = jobs.map((_, j) => pieces.map((split) => split[j]!));
      }
      const computeMs = performance.now() - started;
      this.onRun({ rows, requests: jobs.length, computeMs });
      jobs.forEach((job, j) =>
        job.resolve({
          outputs: perJob[j]!,
          batchRows: rows,
          batchRequests: jobs.length,
          queueMs: started - job.enqueuedAt,
          batchWaitMs: Math.min(batchWaitMs, started - job.enqueuedAt),
          computeMs,
        }),
      );
    } catch (error) {
      if (jobs.length === 1) {
        first.reject(error);
        return;
      }
      // One request's values can make the runtime reject the whole stack: answer each alone.
      await Promise.all(jobs.map((job) => this.execute([job])));
    }
  }
}
