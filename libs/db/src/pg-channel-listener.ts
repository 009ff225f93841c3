import pg from 'pg';

export interface PgChannelListenerOptions {
  databaseUrl: string;
  channel: string;
  /** Called with each notification's payload. */
  onNotify: (payload: string) => void;
  /** Called when the connection is lost (before a reconnect is tried). */
  onDisconnect?: (error: Error) => void;
  /** Delay before reconnecting after the connection is lost. */
  reconnectMs?: number;
}

const CHANNEL_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * One PostgreSQL connection that LISTENs on a channel, for pushing what a table's trigger
 * announces (`pg_notify`) to whoever waits in this process, instead of each waiter polling.
 * Reconnects on its own; `connected` says whether notifications can be relied on now (callers
 * fall back to polling while it is false).
 */
export class PgChannelListener {
  private client?: pg.Client;
  private closed = false;
  private retry?: NodeJS.Timeout;
  connected = false;

  constructor(private readonly options: PgChannelListenerOptions) {
    if (!CHANNEL_PATTERN.test(options.channel)) {
      throw new Error(`invalid channel name '${options.channel}'`);
    }
  }

  /** Connects and listens; resolves once listening or after a first failure (it keeps trying). */
  async start(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === this.options.channel) this.options.onNotify(message.payload ?? '');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
      this.connected = true;
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
  }

  private lost(client: pg.Client, error: Error): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.connected = false;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.options.onDisconnect?.(error);
    this.retry = setTimeout(() => void this.start(), this.options.reconnectMs ?? 2_000);
    this.retry.unref();
  }
}
