import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Runs `body` in a child process with `createLogger`, `logger` and `access` (its access log) in
 * scope, from the built module (scripts/test.sh builds before testing), and returns its stdout
 * as JSON lines. With `untilLines`, kills it with SIGKILL once that many lines came out.
 */
async function runChild(
  body: string,
  untilLines?: number,
  level = 'info',
): Promise<{
  lines: Record<string, unknown>[];
  raw: string[];
  code: number | null;
  signal: string | null;
}> {
  const built = fileURLToPath(new URL('../dist/logger.js', import.meta.url));
  const script = `
    const { createLogger, accessLogOf, writeAccessLine } = await import(${JSON.stringify(built)});
    const logger = createLogger({ name: 'spec', level: ${JSON.stringify(level)} });
    const access = accessLogOf(logger);
    ${body}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (untilLines !== undefined && out.split('\n').filter(Boolean).length >= untilLines) {
      child.kill('SIGKILL');
    }
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  const raw = out.split('\n').filter(Boolean);
  const lines = raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { lines, raw, code, signal };
}

describe('the buffered access log', () => {
  it('writes every line, in order, in chunks, and the rest when the process exits', async () => {
    // 500 lines of ~150 bytes: many 4 KiB chunks, and a last partial one written at exit.
    const { lines, code } = await runChild(`
      for (let i = 0; i < 500; i++) access.info({ requestId: 'r' + i, status: 200 }, 'request');
      logger.info('done');
    `);
    expect(code).toBe(0);
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests.map((l) => l.requestId)).toEqual(
      Array.from({ length: 500 }, (_, i) => `r${i}`),
    );
    expect(requests[0]).toMatchObject({ level: 'info', app: 'spec', status: 200 });
  });

  it('writes a partial chunk within the flush interval, without waiting for more lines', async () => {
    // Two lines, then the process stays alive: they must come out on their own (the child is
    // killed with SIGKILL once they have, so no exit hook can be what wrote them).
    const { lines, signal } = await runChild(
      `
      access.info({ requestId: 'a' }, 'request');
      access.info({ requestId: 'b' }, 'request');
      setInterval(() => undefined, 1000);
    `,
      2,
    );
    expect(signal).toBe('SIGKILL');
    expect(lines.map((l) => l.requestId)).toEqual(['a', 'b']);
  });

  it('writes a request line exactly as pino would, however hostile the URL, and none below info', async () => {
    const fields = {
      requestId: 'r-1',
      method: 'POST',
      url: '/v2/models/a"b\\\\c\u0001\u2028é😀/infer?x=</script>',
      route: '/v2/models/:model/infer',
      status: 200,
      durationMs: 12.35,
    };
    const { raw, code } = await runChild(`
      const fields = ${JSON.stringify(fields)};
      access.info({ ...fields }, 'request');
      writeAccessLine(logger, fields);
      writeAccessLine(logger, { ...fields, durationMs: NaN });
      access.info({ ...fields, durationMs: NaN }, 'request');
    `);
    expect(code).toBe(0);
    const withoutTime = (line: string) => line.replace(/"time":"[^"]*"/, '"time":"T"');
    expect(raw).toHaveLength(4);
    expect(withoutTime(raw[1]!)).toBe(withoutTime(raw[0]!));
    expect(withoutTime(raw[2]!)).toBe(withoutTime(raw[3]!));
    expect(JSON.parse(raw[1]!)).toMatchObject({ ...fields, level: 'info', msg: 'request' });
    const quiet = await runChild(
      `writeAccessLine(logger, ${JSON.stringify(fields)});`,
      undefined,
      'warn',
    );
    expect(quiet.raw).toEqual([]);
  });
});
