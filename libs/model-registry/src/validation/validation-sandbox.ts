import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryError } from '../registry/registry.errors.js';
import { DEFAULT_UPLOAD_UNPACK_LIMITS, type UnpackLimits } from './archive-unpacker.js';
import type { TensorSpec } from './onnx-inspector.js';
import { InvalidModelError, ValidationLimitError } from './validation-errors.js';

const MiB = 1024 * 1024;

export interface ValidationSandboxOptions {
  /** Validation children at once in this process; more wait their turn (VALIDATION_CONCURRENCY). */
  concurrency: number;
  /** Resident memory (RSS) one child may reach before it is killed (VALIDATION_MEMORY_LIMIT_BYTES). */
  memoryLimitBytes: number;
  /** Wall-clock time one validation may take once its child is up (VALIDATION_TIMEOUT_MS). */
  timeoutMs: number;
  /** How far a TF.js archive may unpack (MAX_UNPACK_RATIO, MAX_UNPACKED_BYTES). */
  unpack: UnpackLimits;
  /** How often the child's RSS is read from /proc. */
  pollIntervalMs: number;
}

export const DEFAULT_VALIDATION_OPTIONS: ValidationSandboxOptions = {
  concurrency: 1,
  memoryLimitBytes: 2048 * MiB,
  timeoutMs: 60_000,
  unpack: DEFAULT_UPLOAD_UNPACK_LIMITS,
  pollIntervalMs: 20,
};

/** A child that is not ready this long after its start is a platform failure (503). */
const STARTUP_TIMEOUT_MS = 30_000;
/** Validation is background work: below serving in the CPU scheduler's eyes. */
const CHILD_NICENESS = 10;

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface ValidationTask {
  format: 'onnx' | 'tfjs';
  /** The plaintext artifact, readable by the child. */
  file: string;
  unpack?: UnpackLimits;
}

/** What the child says over IPC. */
export type ValidationReply =
  | { type: 'ready' }
  | { type: 'result'; signature: ModelSignature }
  | { type: 'refused'; message: string; limit?: ValidationLimitError['limit'] }
  | { type: 'failed'; message: string };

export interface ValidationOutcome {
  signature: ModelSignature;
  /** The child's highest RSS seen by the poller. */
  peakRssBytes: number;
  /** From fork to exit. */
  wallMs: number;
}

/**
 * Validates uploads off the caller's event loop and heap: one child process per validation
 * (a fresh process, so nothing one tenant's model left in memory or in onnxruntime meets the
 * next, and a crash or a kill costs only that upload), at most `concurrency` at once, each:
 *
 * - started in an empty 0555 working directory of the upload's private scratch directory,
 *   with an empty environment (no secret, no config reaches it) and TMPDIR in that scratch,
 *   niced below serving;
 * - capped in JS heap (`--max-old-space-size`, half the memory limit) and in resident memory,
 *   which covers onnxruntime's native allocations: its RSS is read from /proc/<pid>/status
 *   every `pollIntervalMs` and it is SIGKILLed past the limit;
 * - killed past `timeoutMs`.
 *
 * A model killed for memory or time, or that crashes its child, is a 422; a child that cannot
 * start is a 503.
 */
export class ValidationSandbox {
  readonly options: ValidationSandboxOptions;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(options: Partial<ValidationSandboxOptions> = {}) {
    this.options = { ...DEFAULT_VALIDATION_OPTIONS, ...options };
    for (const key of ['concurrency', 'memoryLimitBytes', 'timeoutMs', 'pollIntervalMs'] as const) {
      const value = this.options[key];
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`validation ${key} must be a positive integer, got ${value}`);
      }
    }
  }

  /** Validations running now and waiting for a slot. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /**
   * Validates the artifact at `task.file`. `workDir` is the upload's private (0700) scratch
   * directory: the child's working directory and TMPDIR are made inside it, so whatever the
   * child leaves behind goes when the caller removes it.
   */
  async validate(task: ValidationTask & { workDir: string }): Promise<ValidationOutcome> {
    await this.acquire();
    try {
      return await this.run(task);
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.concurrency) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }

  private async run(task: ValidationTask & { workDir: string }): Promise<ValidationOutcome> {
    const { memoryLimitBytes, timeoutMs, pollIntervalMs } = this.options;
    const cwd = await mkdtemp(join(task.workDir, 'cwd-'));
    await chmod(cwd, 0o555);
    const entry = childEntry();
    const heapMiB = Math.max(64, Math.floor(memoryLimitBytes / MiB / 2));
    const started = Date.now();
    const child = fork(entry.script, [], {
      cwd,
      env: { TMPDIR: task.workDir },
      execArgv: [...entry.execArgv, `--max-old-space-size=${heapMiB}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, CHILD_NICENESS);
      } catch {
        // not fatal: the child runs at our priority
      }
    }

    return new Promise<ValidationOutcome>((resolve, reject) => {
      let ready = false;
      let reply: ValidationReply | undefined;
      let killedFor: 'memory' | 'time' | 'startup' | undefined;
      let peakRssBytes = 0;
      let stderr = '';
      let spawnError: Error | undefined;
      let settled = false;

      const kill = (reason: NonNullable<typeof killedFor>) => {
        killedFor ??= reason;
        child.kill('SIGKILL');
      };
      const sample = () => {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
        const rss = residentBytes(child.pid);
        if (rss === undefined) return;
        peakRssBytes = Math.max(peakRssBytes, rss);
        if (rss > memoryLimitBytes) kill('memory');
      };
      const poller = setInterval(sample, pollIntervalMs);
      let deadline = setTimeout(() => kill('startup'), STARTUP_TIMEOUT_MS);

      child.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-4096);
      });
      child.on('message', (message: ValidationReply) => {
        if (message.type === 'ready' && !ready) {
          ready = true;
          clearTimeout(deadline);
          deadline = setTimeout(() => kill('time'), timeoutMs);
          child.send(
            {
              format: task.format,
              file: task.file,
              unpack: task.unpack ?? this.options.unpack,
            } satisfies ValidationTask,
            () => undefined,
          );
        } else if (message.type !== 'ready') {
          reply = message;
        }
      });
      child.once('error', (error) => {
        spawnError ??= error;
        if (child.pid === undefined) finish(null, null);
      });
      child.once('close', (code, signal) => finish(code, signal));

      function finish(code: number | null, signal: NodeJS.Signals | null): void {
        if (settled) return;
        settled = true;
        clearInterval(poller);
        clearTimeout(deadline);
        const outcome = decide({ reply, killedFor, ready, code, signal, stderr, spawnError });
        if (outcome instanceof Error) reject(outcome);
        else resolve({ signature: outcome, peakRssBytes, wallMs: Date.now() - started });
      }
      const decide = (state: {
        reply?: ValidationReply;
        killedFor?: typeof killedFor;
        ready: boolean;
        code: number | null;
        signal: NodeJS.Signals | null;
        stderr: string;
        spawnError?: Error;
      }): ModelSignature | Error => {
        if (state.killedFor === 'memory') return memoryExceeded(memoryLimitBytes);
        if (state.killedFor === 'time') {
          return new ValidationLimitError(
            'time',
            `the model needs more than ${formatSeconds(timeoutMs)} to validate`,
          );
        }
        const reply = state.reply;
        if (reply?.type === 'result') return reply.signature;
        if (reply?.type === 'refused') {
          if (reply.limit === 'memory') return memoryExceeded(memoryLimitBytes);
          return reply.limit
            ? new ValidationLimitError(reply.limit, reply.message)
            : new InvalidModelError(reply.message);
        }
        if (/heap out of memory|Reached heap limit|Allocation failed/i.test(state.stderr)) {
          return memoryExceeded(memoryLimitBytes);
        }
        if (!state.ready || reply?.type === 'failed') {
          const why =
            state.spawnError?.message ??
            (reply?.type === 'failed' ? reply.message : undefined) ??
            (state.killedFor === 'startup' ? 'it did not start in time' : lastLine(state.stderr));
          return new RegistryError(
            'UNAVAILABLE',
            `the model validator failed (${why || `exit ${state.signal ?? state.code}`}); retry later`,
          );
        }
        // It was running the model's bytes when it died: the model brought it down.
        return new InvalidModelError(
          `the model crashed its validator (${state.signal ?? `exit code ${state.code}`}); it cannot be loaded safely`,
        );
      };
    });
  }
}

function memoryExceeded(limit: number): ValidationLimitError {
  return new ValidationLimitError(
    'memory',
    `the model needs more than ${Math.round(limit / MiB)} MiB of memory to validate`,
  );
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${+(ms / 1000).toFixed(3)} s`;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

/** VmRSS of a process (bytes), or undefined once it is gone (or off Linux). */
function residentBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The child's script: the built .js beside this module; from sources (unit tests), the .ts
 * with a loader that compiles it.
 */
function childEntry(): { script: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return {
      script: fileURLToPath(new URL('./validation-child.ts', here)),
      execArgv: ['--import', new URL('./source-loader.mjs', here).href],
    };
  }
  return { script: fileURLToPath(new URL('./validation-child.js', here)), execArgv: [] };
}
