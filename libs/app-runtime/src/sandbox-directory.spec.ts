import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { enterSandboxDirectory } from './sandbox-directory.js';

describe('enterSandboxDirectory', () => {
  const original = process.cwd();
  let parent: string | undefined;

  afterEach(() => {
    process.chdir(original);
    if (parent) rmSync(parent, { recursive: true, force: true });
  });

  it('moves the process into a new empty directory nobody but root can write', () => {
    parent = mkdtempSync(join(tmpdir(), 'sandbox-spec-'));
    const directory = enterSandboxDirectory(parent);

    expect(dirname(directory)).toBe(parent);
    expect(process.cwd()).toBe(directory);
    expect(readdirSync('.')).toEqual([]);
    expect(statSync('.').mode & 0o777).toBe(0o555);
    // A relative name now resolves inside it, not where the process started.
    expect(existsSync('package.json')).toBe(false);
    expect(existsSync(join(original, 'package.json'))).toBe(true);
  });

  it('gives every call a directory of its own', () => {
    parent = mkdtempSync(join(tmpdir(), 'sandbox-spec-'));
    expect(enterSandboxDirectory(parent)).not.toBe(enterSandboxDirectory(parent));
    expect(readdirSync(parent)).toHaveLength(2);
  });
});
