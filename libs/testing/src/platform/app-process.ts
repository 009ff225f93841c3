import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export type AppName = 'gateway' | 'inference' | 'trainer';

/**
 * One app started from its build (apps/<name>/dist/main.js) as a real process, its stdout
 * and stderr captured so tests can read the JSON log lines.
 */
export class AppProcess {
  readonly output: string[] = [];
  private child?: ChildProcess;
  private exited?: Promise<number | null>;

  constructor(
    readonly name: AppName,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The running process's pid (for CPU accounting in benchmarks). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logs(): string {
    return this.output.join('');
  }

  /** Parsed JSON log lines (non-JSON lines are skipped). */
  logLines(): Record<string, unknown>[] {
    return this.logs
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  async start(timeoutMs = 60_000): Promise<void> {
    // A worker's link port is picked like its HTTP port (each start its own, so copies of this
    // env start more workers), not left to the system, whose pick could take a port just
    // handed to another app by freePort().
    const linkPort =
      this.name === 'inference' && this.env.LINK_PORT === undefined
        ? { LINK_PORT: String(await freePort()) }
        : {};
    const child = spawn(process.execPath, [`apps/${this.name}/dist/main.js`], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...this.env,
        ...linkPort,
        PORT: String(this.port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.exited = once(child, 'exit').then(([code]) => code as number | null);
    await this.waitReady(timeoutMs);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited!.then((code) => (exitCode = code ?? -1));
    while (Date.now() < deadline) {
      if (exitCode !== undefined) {
        throw new Error(
          `${this.name} exited with ${exitCode} while starting:\n${this.logs.slice(-4000)}`,
        );
      }
      try {
        const response = await fetch(`${this.url}/readyz`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.logs.slice(-4000)}`);
  }

  /** SIGTERM (graceful) by default; resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      return this.child?.exitCode ?? null;
    }
    this.child.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited!;
    } finally {
      clearTimeout(timer);
    }
  }
}
