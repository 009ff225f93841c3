import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBody } from './request-body.js';

describe('readBody', () => {
  it('reads a body sent in several chunks whole', async () => {
    const body = await readBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10);
    expect(body.toString()).toBe('abcd');
  });

  it('answers 413 past the limit and stops reading', async () => {
    const stream = Readable.from([Buffer.alloc(6), Buffer.alloc(6)]);
    await expect(readBody(stream, 10)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(stream.destroyed).toBe(true);
  });

  it('fails when the sender goes away before the end, rather than waiting forever', async () => {
    const stream = new PassThrough();
    const reading = readBody(stream, 10);
    stream.write(Buffer.from('abc'));
    stream.destroy();
    // The client's doing: a 400, never a 500 (nor a crash).
    await expect(reading).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/ended early/),
    });
  });

  it('reads an empty body', async () => {
    expect((await readBody(Readable.from([]), 10)).length).toBe(0);
  });

  describe('with the Content-Length of a trusted sender', () => {
    it('reads each chunk into one buffer of that length as it comes, the buffer the body is', async () => {
      const stream = new PassThrough();
      const reading = readBody(stream, 100, 10);
      const first = Buffer.from('01234');
      stream.write(first);
      // A chunk is copied in when it comes, not kept: changing it afterwards changes nothing.
      await new Promise((resolve) => setImmediate(resolve));
      first.fill('x');
      stream.end(Buffer.from('56789'));
      const body = await reading;
      expect(body.toString()).toBe('0123456789');
      expect(body.buffer.byteLength).toBeGreaterThanOrEqual(10);
    });

    it('gives only the bytes that came when fewer came, and refuses more than declared', async () => {
      expect((await readBody(Readable.from([Buffer.from('abc')]), 100, 8)).toString()).toBe('abc');
      const longer = Readable.from([Buffer.from('abcdef'), Buffer.from('gh')]);
      await expect(readBody(longer, 100, 6)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/longer than its Content-Length/),
      });
    });

    it('answers 413 for a declared length past the limit before reading a byte', async () => {
      const stream = new PassThrough();
      stream.write(Buffer.alloc(4));
      await expect(readBody(stream, 10, 12)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      expect(stream.readableLength).toBe(4);
    });
  });
});
