import { createInterface } from 'node:readline';
import { MaasApiError, MaasClient } from '@maas/sdk';
import type { OptionValues } from './args.js';
import { type Env, readConfig, type StoredConfig, writeConfig } from './config.js';

/** A failure to report in one line (exit code 1): not a usage mistake, not an API error. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface InputStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

/** Where the CLI reads and writes: the process's streams, or a test's. */
export interface Io {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  env: Env;
  /** Registers a Ctrl-C handler (while one is registered Ctrl-C does not kill the process). */
  onInterrupt(handler: () => void): () => void;
}

export const USER_AGENT = 'maas-cli/0.1.0';

/** Refresh an access token that expires within this long. */
const REFRESH_MARGIN_MS = 30_000;

export class Context {
  private config?: StoredConfig;

  constructor(
    readonly io: Io,
    readonly options: OptionValues,
  ) {}

  /** Machine output: one JSON document on stdout. */
  get json(): boolean {
    return this.options.json === true || this.options['json:bare'] === true;
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** Progress and notes for people go to stderr, so stdout stays parseable. */
  note(text: string): void {
    this.io.stderr.write(text);
  }

  printJson(value: unknown): void {
    this.out(
      `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
    );
  }

  async readConfig(): Promise<StoredConfig> {
    this.config ??= await readConfig(this.io.env);
    return this.config;
  }

  async saveConfig(config: StoredConfig): Promise<string> {
    this.config = config;
    return writeConfig(this.io.env, config);
  }

  /** `--url`, else `$MAAS_URL`, else the logged-in gateway. */
  async url(): Promise<string> {
    const given = (this.options.url as string | undefined) ?? this.io.env.MAAS_URL;
    if (given) return given;
    const config = await this.readConfig();
    if (config.url) return config.url;
    throw new CliError(
      "no gateway configured: run 'maas login --url URL --api-key KEY' (or set MAAS_URL)",
    );
  }

  private client(baseUrl: string, credentials: { apiKey?: string; accessToken?: string }) {
    return new MaasClient({ baseUrl, ...credentials, headers: { 'user-agent': USER_AGENT } });
  }

  /** A client with the tenant's credential: `--api-key`, `$MAAS_API_KEY`, the stored key or session. */
  async tenantClient(): Promise<MaasClient> {
    const url = await this.url();
    const apiKey = (this.options['api-key'] as string | undefined) ?? this.io.env.MAAS_API_KEY;
    if (apiKey) return this.client(url, { apiKey });
    const config = await this.readConfig();
    if (config.apiKey) return this.client(url, { apiKey: config.apiKey });
    if (config.session) return this.client(url, { accessToken: await this.accessToken(url) });
    throw new CliError(
      "no API key: run 'maas login --url URL --api-key KEY' (or set MAAS_API_KEY)",
    );
  }

  /** A client with the stored login's token (refreshed when it is about to expire). */
  async adminClient(): Promise<MaasClient> {
    const url = await this.url();
    return this.client(url, { accessToken: await this.accessToken(url) });
  }

  private async accessToken(url: string): Promise<string> {
    const config = await this.readConfig();
    const session = config.session;
    if (!session) {
      throw new CliError("not logged in as an admin: run 'maas login --url URL --email EMAIL'");
    }
    const expiresAt = session.expiresAt ? Date.parse(session.expiresAt) : Infinity;
    if (expiresAt - REFRESH_MARGIN_MS > Date.now()) return session.accessToken;
    try {
      const tokens = await this.client(url, {}).auth.refresh(session.refreshToken);
      await this.saveConfig({
        ...config,
        session: {
          ...session,
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          ...(tokens.expiresIn !== undefined && {
            expiresAt: new Date(Date.now() + tokens.expiresIn * 1000).toISOString(),
          }),
        },
      });
      return tokens.accessToken;
    } catch (error) {
      if (error instanceof MaasApiError && error.status < 500) {
        throw new CliError(
          `the login of ${session.email} has expired: run 'maas login --email ${session.email}'`,
        );
      }
      throw error;
    }
  }

  /** Asks on stderr and reads one line from stdin (hidden on a terminal when `hidden`). */
  async ask(question: string, options: { hidden?: boolean } = {}): Promise<string | undefined> {
    const { stdin, stderr } = this.io;
    stderr.write(question);
    if (options.hidden && stdin.isTTY && stdin.setRawMode) return readHidden(stdin, stderr);
    const lines = createInterface({ input: stdin, terminal: false });
    try {
      return await new Promise<string | undefined>((resolve) => {
        lines.once('line', resolve);
        lines.once('close', () => resolve(undefined));
      });
    } finally {
      lines.close();
      stdin.pause();
    }
  }
}

/** Reads a line from a terminal without echoing it (a password). */
function readHidden(stdin: InputStream, stderr: OutputStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const done = (value: string | undefined) => {
      stdin.setRawMode?.(false);
      stdin.removeListener('data', onData);
      stdin.pause();
      stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const c of chunk.toString()) {
        if (c === '\r' || c === '\n') return done(text);
        if (c === '\u0003' || c === '\u0004') return done(undefined);
        if (c === '\u007f' || c === '\b') text = text.slice(0, -1);
        else text += c;
      }
    };
    stdin.setRawMode?.(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
