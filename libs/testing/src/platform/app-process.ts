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
  private boundOpsPort?: number;
  private boundLinkPort?: number;

  /**
   * `root`: the checkout whose build runs (default this one); a benchmark comparing two builds
   * (bench/serving/ab.mjs) points one side at another checkout, built there.
   */
  constructor(
    readonly name: AppName,
    readonly port: number,
    readonly env: Record<string, string>,
    readonly root = REPO_ROOT,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** An inference worker's link port (the gateway's framed TCP transport), once started. */
  get linkPort(): number {
    if (!this.boundLinkPort) throw new Error(`${this.name} has no worker link port`);
    return this.boundLinkPort;
  }

  /**
   * Where /metrics, /healthz and /readyz answer: an inference worker's OPS_PORT (its PORT and
   * link serve only the gateway), the app's own port for the others. Known once started.
   */
  get opsUrl(): string {
    if (this.name !== 'inference') return this.url;
    if (!this.boundOpsPort) throw new Error(`${this.name} has not started: no ops port yet`);
    return `http://127.0.0.1:${this.boundOpsPort}`;
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
    const ports: Record<string, string> = {};
    if (this.name === 'inference') {
      if (this.env.LINK_PORT === undefined) ports.LINK_PORT = String(await freePort());
      // Likewise its ops port. A port given as 0 is read from the worker's log once bound.
      ports.OPS_PORT = this.env.OPS_PORT ?? String(await freePort());
      this.boundOpsPort = Number(ports.OPS_PORT) || undefined;
      this.boundLinkPort = Number(ports.LINK_PORT ?? this.env.LINK_PORT) || undefined;
    }
    const child = spawn(process.execPath, [`apps/${this.name}/dist/main.js`], {
      cwd: this.root,
      env: {
        PATH: process.env.PATH ?? '',
        ...this.env,
        ...ports,
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
      if (this.name === 'inference') {
        this.boundOpsPort ??= this.loggedPort('ops listening');
        this.boundLinkPort ??= this.loggedPort('worker link listening');
      }
      try {
        if (this.name !== 'inference' || this.boundOpsPort) {
          const response = await fetch(`${this.opsUrl}/readyz`);
          if (response.status === 200) return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.logs.slice(-4000)}`);
  }

  /** The port of a '<what> listening' log line, if logged. */
  private loggedPort(message: string): number | undefined {
    const port = this.logLines().find((line) => line.msg === message)?.port;
    return typeof port === 'number' ? port : undefined;
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
