import { chmodSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Moves the process into a fresh, empty directory that nobody but root can write (0555) and
 * returns its path: whatever still resolves a relative path against the working directory
 * (a model's external data, a loader handed a relative name) finds nothing there, and nothing
 * can be written there either. Call it at boot, after the config is loaded (relative paths in
 * it resolved to absolute by the schema) and before anything reads a file. Removed at exit.
 */
export function enterSandboxDirectory(parent: string = tmpdir()): string {
  const directory = mkdtempSync(join(parent, 'maas-cwd-'));
  chmodSync(directory, 0o555);
  process.chdir(directory);
  process.once('exit', () => {
    try {
      rmdirSync(directory);
    } catch {
      // already gone
    }
  });
  return directory;
}
