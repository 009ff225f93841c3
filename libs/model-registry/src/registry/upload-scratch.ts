import { type FileHandle, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'maas-validate-';
const OWNED = new RegExp(`^${PREFIX}(\\d+)-`);

let staleSwept: Promise<void> | undefined;

/**
 * One upload's private scratch directory under the OS temp dir (mkdtemp: mode 0700, a name
 * nobody can guess): the plaintext the validator reads (`artifact`, 0600) and the validation
 * child's working and temp directories. `dispose` removes all of it, whatever happened.
 */
export class UploadScratch {
  private constructor(readonly directory: string) {}

  get artifactPath(): string {
    return join(this.directory, 'artifact');
  }

  static async create(parent: string = tmpdir()): Promise<UploadScratch> {
    await (staleSwept ??= sweepStale(parent));
    return new UploadScratch(await mkdtemp(join(parent, `${PREFIX}${process.pid}-`)));
  }

  /** The artifact file, created empty (fails if it exists). */
  openArtifact(): Promise<FileHandle> {
    return open(this.artifactPath, 'wx', 0o600);
  }

  async dispose(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Scratch directories a crashed process left (kept across container restarts by an emptyDir):
 * those of processes that are gone, and any bearing our own pid, made before we made any.
 */
async function sweepStale(parent: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  await Promise.all(
    names.map(async (name) => {
      const pid = Number(OWNED.exec(name)?.[1] ?? NaN);
      if (!Number.isInteger(pid) || (pid !== process.pid && isAlive(pid))) return;
      await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes all of `chunk` (a file handle may take less than it is given). */
export async function writeFully(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
