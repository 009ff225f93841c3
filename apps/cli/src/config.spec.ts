import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configDir, readConfig, writeConfig } from './config.js';

describe('config file', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'maas-cli-config-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('lives in $MAAS_CONFIG_DIR, else $XDG_CONFIG_HOME/maas, else ~/.config/maas', () => {
    expect(configDir({ MAAS_CONFIG_DIR: '/a', XDG_CONFIG_HOME: '/b', HOME: '/c' })).toBe('/a');
    expect(configDir({ XDG_CONFIG_HOME: '/b', HOME: '/c' })).toBe('/b/maas');
    expect(configDir({ HOME: '/c' })).toBe('/c/.config/maas');
  });

  it('is written 0600 in a 0700 folder (even over a looser file) and read back', async () => {
    const env = { XDG_CONFIG_HOME: home };
    expect(await readConfig(env)).toEqual({});
    const path = join(home, 'maas', 'config.json');
    await writeConfig(env, { url: 'http://x' });
    await writeFile(path, '{"url":"http://x"}', { mode: 0o644 });
    await writeConfig(env, { url: 'http://gw', apiKey: 'maas_secret' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, 'maas'))).mode & 0o777).toBe(0o700);
    expect(await readConfig(env)).toEqual({ url: 'http://gw', apiKey: 'maas_secret' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      url: 'http://gw',
      apiKey: 'maas_secret',
    });
  });

  it('says which file is broken rather than failing obscurely', async () => {
    const env = { MAAS_CONFIG_DIR: join(home, 'broken') };
    await writeConfig(env, {});
    await writeFile(join(home, 'broken', 'config.json'), '{not json');
    await expect(readConfig(env)).rejects.toThrow(/broken\/config.json is not valid JSON/);
  });
});
