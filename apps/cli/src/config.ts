import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A login with email and password: an admin's (for `maas admin …`) or a tenant member's. */
export interface StoredSession {
  email: string;
  accessToken: string;
  refreshToken: string;
  /** When the access token stops working (ISO 8601). */
  expiresAt?: string;
}

/** What `maas login` keeps: one gateway, its API key and/or a session. */
export interface StoredConfig {
  url?: string;
  apiKey?: string;
  session?: StoredSession;
}

export type Env = Record<string, string | undefined>;

/**
 * `$MAAS_CONFIG_DIR`, else `$XDG_CONFIG_HOME/maas`, else `~/.config/maas`. The file holds
 * secrets, so the folder is 0700 and the file 0600.
 */
export function configDir(env: Env): string {
  if (env.MAAS_CONFIG_DIR) return env.MAAS_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'maas');
}

export function configPath(env: Env): string {
  return join(configDir(env), 'config.json');
}

export async function readConfig(env: Env): Promise<StoredConfig> {
  let text: string;
  try {
    text = await readFile(configPath(env), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    return JSON.parse(text) as StoredConfig;
  } catch {
    throw new Error(`${configPath(env)} is not valid JSON: fix or delete it, then log in again`);
  }
}

/**
 * Writes the config atomically (a temporary file renamed over it), created 0600 so the
 * secrets are never readable by others, not even for a moment.
 */
export async function writeConfig(env: Env, config: StoredConfig): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = configPath(env);
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
  return path;
}
