import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import type { Io } from './context.js';
import { parseLabelTarget } from './commands/models.js';
import { parseParams } from './commands/training.js';
import { parseQuotas } from './commands/admin.js';
import { parseInstant } from './commands/usage.js';

// The CLI in-process, without a gateway: help, usage errors (exit 2) and failures that need
// no answer (exit 1). Commands against a running platform are in e2e/cli.spec.ts.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maas-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: new PassThrough(),
    env: { MAAS_CONFIG_DIR: dir, ...env },
    onInterrupt: () => () => undefined,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('maas (no gateway needed)', () => {
  it('prints help for the whole CLI, a group and a command (exit 0)', async () => {
    const all = await cli(['--help']);
    expect(all.code).toBe(0);
    for (const line of [
      'models upload NAME FILE',
      'predict NAME',
      'train',
      'jobs logs ID',
      'usage',
      'admin quotas set TENANT k=v...',
    ]) {
      expect(all.stdout).toContain(line);
    }
    const group = await cli(['admin', '--help']);
    expect(group.stdout).toContain('admin keys revoke TENANT KEY_ID');
    expect(group.stdout).not.toContain('models upload');
    const command = await cli(['train', '--help']);
    expect(command.stdout).toContain('--algorithm ALGO');
    expect(command.stdout).toContain('(mlp | decision_tree)');
    expect((await cli(['--version'])).stdout).toBe('0.1.0\n');
  });

  it('exits 2 with a message on usage mistakes', async () => {
    const cases: [string[], string][] = [
      [[], 'Usage: maas <command>'],
      [['bogus'], "unknown command 'bogus'"],
      [['models'], "'models' needs a command"],
      [['models', 'upload', 'iris'], 'missing FILE'],
      [['predict', 'iris'], 'give exactly one of --json BODY, --csv FILE or --input FILE.npy'],
      [['predict', 'iris', '--csv', 'a.csv', '--input', 'b.npy'], 'give exactly one'],
      [['predict', 'iris', '--json', '{nope'], '--json: not valid JSON'],
      [['train', '--dataset', 'd', '--target', 't', '--algorithm', 'mlp'], '--model is required'],
      [['train', '--algorithm', 'svm'], 'must be one of mlp, decision_tree'],
      [['login', '--url', 'http://x'], 'give either --api-key KEY or --email EMAIL'],
      [['usage', '--from', 'yesterday'], "--from 'yesterday' is not a date"],
      [['admin', 'quotas', 'set', 'acme', 'speed=3'], "unknown quota 'speed'"],
      [['models', 'label', 'iris', 'production', '3=a'], 'is not VERSION or VERSION=WEIGHT'],
    ];
    for (const [argv, message] of cases) {
      const result = await cli(argv, { MAAS_URL: 'http://127.0.0.1:9', MAAS_API_KEY: 'k' });
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /); // never a stack
    }
  });

  it('exits 1 with one line when it is not logged in or the gateway is unreachable', async () => {
    const none = await cli(['models', 'list']);
    expect(none).toMatchObject({ code: 1 });
    expect(none.stderr).toBe(
      "error: no gateway configured: run 'maas login --url URL --api-key KEY' (or set MAAS_URL)\n",
    );
    const down = await cli(['models', 'list', '--json'], {
      MAAS_URL: 'http://127.0.0.1:9',
      MAAS_API_KEY: 'k',
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^error: cannot reach the gateway: .*\(http:\/\/127\.0\.0\.1:9\/api\/models/,
    );
    expect(JSON.parse(down.stdout)).toMatchObject({ error: { title: 'error' } });
  });

  it('reads labels, hyperparameters, quotas and dates as the API takes them', () => {
    expect(parseLabelTarget('3')).toBe(3);
    expect(parseLabelTarget('3=90,4=10')).toEqual({ 3: 90, 4: 10 });
    expect(parseParams(['epochs=30', 'hiddenLayers=[16,8]', 'activation=relu', 'x=true'])).toEqual({
      epochs: 30,
      hiddenLayers: [16, 8],
      activation: 'relu',
      x: true,
    });
    expect(parseQuotas(['requestsPerSecond=50', 'maxModels=null', 'burst=default'])).toEqual({
      requestsPerSecond: 50,
      maxModels: null,
      burst: null,
    });
    expect(parseInstant('2026-03-01', '--from')).toBe('2026-03-01T00:00:00.000Z');
    expect(parseInstant('2026-03-01T10:00:00+02:00', '--to')).toBe('2026-03-01T08:00:00.000Z');
  });
});
