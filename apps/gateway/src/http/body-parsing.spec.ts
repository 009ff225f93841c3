import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLimited } from './body-parsing.js';

describe('readLimited', () => {
  it('reads a body sent in several chunks whole', async () => {
    const body = await readLimited(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10);
    expect(body.toString()).toBe('abcd');
  });

  it('answers 413 past the limit and stops reading', async () => {
    const stream = Readable.from([Buffer.alloc(6), Buffer.alloc(6)]);
    await expect(readLimited(stream, 10)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(stream.destroyed).toBe(true);
  });

  it('fails when the sender goes away before the end, rather than waiting forever', async () => {
    const stream = new PassThrough();
    const reading = readLimited(stream, 10);
    stream.write(Buffer.from('abc'));
    stream.destroy();
    // The client's doing: a 400, never a 500 (nor a crash).
    await expect(reading).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/ended early/),
    });
  });

  it('reads an empty body', async () => {
    expect((await readLimited(Readable.from([]), 10)).length).toBe(0);
  });
});
