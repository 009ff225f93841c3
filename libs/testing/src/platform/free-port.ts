import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The lowest port the kernel hands out for outgoing connections. A port picked inside that range
 * (as listen(0) does) can be taken by any client socket — a Redis or PostgreSQL connection of a
 * suite running beside — between the pick and the app's listen, which then fails EADDRINUSE.
 */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const LOW = 10_000;
const HIGH = ephemeralLow(); // exclusive
const handedOut = new Set<number>();

/**
 * Ports handed out by any test process on this machine: one file per port holding the pid that
 * claimed it, created exclusively, so two processes (vitest forks running suites side by side)
 * never hand out the same port between their picks and their apps' listens. Files of processes
 * that are gone are removed when a process first claims one.
 */
const CLAIMS = join(tmpdir(), 'maas-test-ports');
let pruned = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function pruneClaims(): void {
  pruned = true;
  mkdirSync(CLAIMS, { recursive: true });
  for (const name of readdirSync(CLAIMS)) {
    try {
      const pid = Number(readFileSync(join(CLAIMS, name), 'utf8'));
      if (!(pid > 0) || !alive(pid)) unlinkSync(join(CLAIMS, name));
    } catch {
      // claimed or pruned by another process meanwhile
    }
  }
}

/** Claims `port` for this process; false when another live process holds it. */
function claim(port: number): boolean {
  try {
    if (!pruned) pruneClaims();
    writeFileSync(join(CLAIMS, String(port)), String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    // Held already; any other failure (no writable tmpdir) leaves the bind check alone.
    return (error as NodeJS.ErrnoException).code !== 'EEXIST';
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral range so no outgoing
 * connection can take it before the app that is given it listens, never the same twice in a
 * process, and never one another live test process was handed (a claim file per port: suites
 * in other processes pick at random from the same ~20 000 ports).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    if (!claim(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${LOW}-${HIGH - 1} after 200 tries`);
}
