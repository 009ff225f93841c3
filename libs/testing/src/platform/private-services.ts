import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './app-process.js';
import { freePort } from './free-port.js';

/**
 * PostgreSQL and Redis of a test's own, for fault tests that stop, kill or wipe them (the shared
 * servers on TEST_DATABASE_URL and TEST_REDIS_URL serve every other test file and must never
 * be stopped). Each runs as a child process on a free port with its data in a temporary folder.
 */

/** Newest /usr/lib/postgresql/<version>/bin with initdb (as scripts/lib/services.sh picks it). */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const newest = versions.at(-1);
  if (!newest) throw new Error('no PostgreSQL found under /usr/lib/postgresql/*/bin');
  return join(root, newest, 'bin');
}

/** initdb and postgres refuse root: run them as `postgres` when we are root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export interface PrivatePostgres {
  /** Admin URL (database `postgres`); `databaseUrl` is the migrated `maas` database. */
  adminUrl: string;
  databaseUrl: string;
  port: number;
  /** Stops the server (fast shutdown: connections are cut); its data stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

/** A PostgreSQL server of its own (initdb in a temp folder, free port) with a migrated `maas`. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const user = postgresUser();
  const dataDir = mkdtempSync(join(tmpdir(), 'maas-pg-'));
  if (user) chownSync(dataDir, user.uid, user.gid);
  execFileSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale'],
    { stdio: 'ignore', cwd: '/', ...user },
  );
  const port = await freePort();
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const databaseUrl = `postgresql://postgres@127.0.0.1:${port}/maas`;
  let child: ChildProcess | undefined;

  const ready = () =>
    new Promise<boolean>((resolve) => {
      const probe = spawn(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      probe.on('exit', (code) => resolve(code === 0));
      probe.on('error', () => resolve(false));
    });

  const start = async () => {
    child = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-k',
        dataDir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      { stdio: 'ignore', cwd: '/', ...user },
    );
    await waitFor(`postgres on ${port}`, ready);
  };
  // SIGINT is PostgreSQL's fast shutdown: what an operator's `pg_ctl stop` does.
  const stop = () => stopChild(child, 'SIGINT');

  await start();
  try {
    execFileSync(process.execPath, ['libs/db/dist/migrate.cli.js'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
      stdio: 'ignore',
    });
  } catch (error) {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error('migrating the private PostgreSQL failed (run node tools/build.mjs first)', {
      cause: error,
    });
  }
  return {
    adminUrl,
    databaseUrl,
    port,
    start,
    stop,
    destroy: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILL: no shutdown save; with appendonly, what reached the AOF survives. */
  kill(): Promise<void>;
  /** Starts it again on the same port; `wipe` deletes its data first (Redis lost its disk). */
  start(options?: { wipe?: boolean }): Promise<void>;
  /** Kills it, wipes its data and starts it again: a Redis restarted with its data lost. */
  restartEmpty(): Promise<void>;
  destroy(): Promise<void>;
}

/** A redis-server of its own on a free port, `noeviction` as the platform requires. */
export async function startPrivateRedis(
  options: { appendonly?: boolean } = {},
): Promise<PrivateRedis> {
  const dataDir = mkdtempSync(join(tmpdir(), 'maas-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const ping = () =>
    new Promise<boolean>((resolve) => {
      const probe = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      probe.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      probe.on('exit', () => resolve(out.trim() === 'PONG'));
      probe.on('error', () => resolve(false));
    });

  const start = async ({ wipe = false }: { wipe?: boolean } = {}) => {
    if (wipe) {
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir);
    }
    child = spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        dataDir,
        '--appendonly',
        options.appendonly === false ? 'no' : 'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(`redis on ${port}`, ping);
  };
  const kill = () => stopChild(child, 'SIGKILL');

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    restartEmpty: async () => {
      await kill();
      await start({ wipe: true });
    },
    destroy: async () => {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
