import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/**
 * Where `vite build` puts the console (apps/console/dist), found from this module: the same
 * relative place from apps/gateway/src (tests) and apps/gateway/dist (built, and in the image).
 */
export const CONSOLE_DIST_DIR = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** One file of the built console, held in memory with its gzip form and validator. */
export interface ConsoleFile {
  body: Buffer;
  /** Present when compressing saved something worth sending. */
  gzip?: Buffer;
  contentType: string;
  etag: string;
  /** Hashed asset names never change content: cached for a year and never revalidated. */
  immutable: boolean;
}

/** The answer to a request under /console: the file to send, or nothing (404). */
export type ConsoleLookup = { file: ConsoleFile; path: string } | undefined;

/** Only plain names under the build, so no URL can name a file outside it. */
const SAFE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/**
 * The built console (index.html and the hashed files under assets/), read once into memory: a
 * request is answered from this map and never becomes a filesystem path. The build is read
 * again, at most once a second, while none was found and when an asset is missing (a rebuild
 * since: its index.html names new files), never for client-side routes, so made-up URLs cost
 * no disk reads.
 */
export class ConsoleFiles {
  private files = new Map<string, ConsoleFile>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly dir: string = CONSOLE_DIST_DIR,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `path` is what follows `/console/` (no query). Files under `assets/` are exact or missing
   * (a missing script must not be answered with HTML); any other path is a client-side route
   * of the single-page app and gets index.html.
   */
  async lookup(path: string): Promise<ConsoleLookup> {
    const wanted = path === '' ? 'index.html' : path;
    let file = this.find(wanted);
    const stale = this.files.size === 0 || wanted.startsWith('assets/');
    if (file === undefined && stale && this.now() - this.loadedAt >= 1_000) {
      await this.reload();
      file = this.find(wanted);
    }
    if (file !== undefined) return { file, path: wanted };
    if (wanted.startsWith('assets/')) return undefined;
    const index = this.files.get('index.html');
    return index && { file: index, path: 'index.html' };
  }

  /** Reads the build ahead of the first request (boot), so that one is not slower. */
  preload(): Promise<void> {
    return this.reload();
  }

  private find(path: string): ConsoleFile | undefined {
    return SAFE_PATH.test(path) ? this.files.get(path) : undefined;
  }

  private reload(): Promise<void> {
    this.loading ??= this.read().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async read(): Promise<void> {
    const files = new Map<string, ConsoleFile>();
    for (const absolute of await walk(this.dir)) {
      const path = relative(this.dir, absolute).split(sep).join('/');
      const type = CONTENT_TYPES[extname(path)];
      if (type === undefined || !SAFE_PATH.test(path)) continue;
      const body = await readFile(absolute);
      const packed = body.length >= 1024 ? await gzipAsync(body, { level: 9 }) : undefined;
      files.set(path, {
        body,
        ...(packed && packed.length < body.length * 0.9 && { gzip: packed }),
        contentType: type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: path.startsWith('assets/'),
      });
    }
    this.files = files;
    this.loadedAt = this.now();
  }
}

async function walk(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    // Not built (yet): /console answers 404 until it is.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
    ),
  );
  return nested.flat();
}
