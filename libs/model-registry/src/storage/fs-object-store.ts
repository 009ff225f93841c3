import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import {
  type FileHandle,
  access,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { copyMetered, writeAll } from './metered-copy.js';
import { assertValidObjectKey, isValidKeySegment, normalizePrefix } from './object-key.js';
import type { ObjectStore, PutOptions, PutResult } from './object-store.js';
import { InvalidObjectKeyError, ObjectNotFoundError } from './storage-errors.js';

// Temp files sit next to their target (same filesystem, so rename is atomic) and carry a
// '~', which no key may contain: list never shows them and no key can collide with one.
const TEMP_SUFFIX = '.tmp~';

/** Object store on a local directory: one file per key, atomic writes, no escaping the root. */
export class FsObjectStore implements ObjectStore {
  readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const target = this.pathOf(key);
    const directory = dirname(target);
    const temp = join(directory, `.${basename(target)}.${randomUUID()}${TEMP_SUFFIX}`);
    const handle = await this.createTempFile(temp);
    let closed = false;
    try {
      const measured = await copyMetered(
        body,
        (chunk) => writeAll(handle, chunk),
        options.maxBytes,
      );
      await handle.sync();
      await handle.close();
      closed = true;
      await rename(temp, target);
      await syncDirectory(directory);
      return { key, ...measured };
    } catch (error) {
      if (!closed) await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      await this.pruneEmptyDirectories(directory);
      throw error;
    }
  }

  async get(key: string): Promise<Readable> {
    const handle = await this.openObject(key);
    return handle.createReadStream();
  }

  async getBuffer(key: string): Promise<Buffer> {
    const handle = await this.openObject(key);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      // A folder under that name is not an object either: nothing to delete.
      if (isMissing(error) || hasCode(error, 'EISDIR') || hasCode(error, 'EPERM')) return;
      throw error;
    }
    await this.pruneEmptyDirectories(dirname(path));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const folder = normalizePrefix(prefix, { allowEmpty: false });
    const keys = await this.list(folder);
    const directory = this.pathOf(folder.slice(0, -1));
    await rm(directory, { recursive: true, force: true });
    await this.pruneEmptyDirectories(dirname(directory));
    return keys.length;
  }

  async list(prefix: string): Promise<string[]> {
    const folder = normalizePrefix(prefix, { allowEmpty: true });
    const directory = folder === '' ? this.root : this.pathOf(folder.slice(0, -1));
    const keys: string[] = [];
    await this.collectKeys(directory, folder, keys);
    return keys.sort();
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root, constants.R_OK | constants.W_OK);
  }

  private pathOf(key: string): string {
    assertValidObjectKey(key);
    const path = join(this.root, ...key.split('/'));
    // Belt and braces: the key grammar already forbids anything that could climb out.
    if (!path.startsWith(this.root + sep)) {
      throw new InvalidObjectKeyError(`object key '${key}' resolves outside the store`);
    }
    return path;
  }

  private async createTempFile(temp: string): Promise<FileHandle> {
    // A failed put may prune the (empty) directory between our mkdir and open: retry.
    for (let attempt = 1; ; attempt += 1) {
      await mkdir(dirname(temp), { recursive: true });
      try {
        return await open(temp, 'wx');
      } catch (error) {
        if (!hasCode(error, 'ENOENT') || attempt >= 3) throw error;
      }
    }
  }

  private async openObject(key: string): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (error) {
      if (isMissing(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(key);
    }
    return handle;
  }

  private async collectKeys(directory: string, keyPrefix: string, keys: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (!isValidKeySegment(entry.name)) continue;
      if (entry.isDirectory()) {
        await this.collectKeys(join(directory, entry.name), `${keyPrefix}${entry.name}/`, keys);
      } else if (entry.isFile()) {
        keys.push(`${keyPrefix}${entry.name}`);
      }
    }
  }

  /** Removes now-empty folders up to (not including) the root, so deletes leave no husks. */
  private async pruneEmptyDirectories(directory: string): Promise<void> {
    let current = directory;
    while (current.startsWith(this.root + sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      current = dirname(current);
    }
  }
}

/** Makes the rename itself durable; some filesystems cannot fsync a directory, which is fine. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}

function hasCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}

function isMissing(error: unknown): boolean {
  return hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR');
}
