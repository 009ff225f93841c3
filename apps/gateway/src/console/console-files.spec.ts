import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleFiles } from './console-files.js';

const INDEX = '<!doctype html><script type="module" src="/console/assets/app-1a2b.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

describe('the console’s files', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function build(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'console-dist-'));
    dirs.push(dir);
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), body);
    }
    return dir;
  }

  it('answers hashed assets exactly and every other path with the app’s index.html', async () => {
    const dir = await build({ 'index.html': INDEX, 'assets/app-1a2b.js': SCRIPT });
    const files = new ConsoleFiles(dir);
    const asset = await files.lookup('assets/app-1a2b.js');
    expect(asset?.path).toBe('assets/app-1a2b.js');
    expect(asset?.file).toMatchObject({
      contentType: 'text/javascript; charset=utf-8',
      immutable: true,
    });
    expect(gunzipSync(asset!.file.gzip!).toString()).toBe(SCRIPT);
    for (const route of ['', 'models/iris', 'admin/tenants/4f1c', 'training/new']) {
      const page = await files.lookup(route);
      expect(page?.path, route).toBe('index.html');
      expect(page?.file.immutable).toBe(false);
      expect(page?.file.body.toString()).toBe(INDEX);
    }
    // A missing script is a 404, never HTML the browser would try to run.
    expect(await files.lookup('assets/app-0000.js')).toBeUndefined();
  });

  it('never reads a file outside the build, whatever the path says', async () => {
    const outside = await build({ 'secret.txt': 'do not serve' });
    const dir = await build({ 'index.html': INDEX, 'assets/app-1a2b.js': SCRIPT });
    const files = new ConsoleFiles(dir);
    const relative = join('..', outside.split('/').pop()!, 'secret.txt');
    for (const path of [
      relative,
      `assets/../../${relative}`,
      '../../../../etc/passwd',
      'assets/../index.html/../../x',
      '/etc/passwd',
      'assets//app-1a2b.js',
    ]) {
      const found = await files.lookup(path);
      if (found !== undefined) expect(found.path, path).toBe('index.html');
      expect(found?.file.body.toString() ?? '', path).not.toContain('do not serve');
    }
  });

  it('serves nothing before the console is built, then picks the build up', async () => {
    const dir = join(await build({}), 'dist');
    let now = 0;
    const files = new ConsoleFiles(dir, () => now);
    expect(await files.lookup('')).toBeUndefined();
    await mkdir(join(dir, 'assets'), { recursive: true });
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'app-1a2b.js'), SCRIPT);
    // Read again at most once a second.
    expect(await files.lookup('')).toBeUndefined();
    now = 1_000;
    expect((await files.lookup(''))?.path).toBe('index.html');
    expect((await files.lookup('assets/app-1a2b.js'))?.file.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });
});
