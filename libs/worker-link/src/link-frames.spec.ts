import { describe, expect, it } from 'vitest';
import { FrameError, FrameKind, FrameReader, frameHead, parseMeta } from './link-frames.js';

function frame(id: number, kind: FrameKind, meta: object, body: Buffer): Buffer {
  return Buffer.concat([frameHead(id, kind, meta, body.length), body]);
}

describe('worker link frames', () => {
  it('round-trips id, kind, meta and body', () => {
    const body = Buffer.from([0, 1, 2, 250, 255]);
    const [decoded, ...rest] = new FrameReader().push(
      frame(7, FrameKind.infer, { tenant: 't', model: 'm', version: 3 }, body),
    );
    expect(rest).toEqual([]);
    expect(decoded!.id).toBe(7);
    expect(decoded!.kind).toBe(FrameKind.infer);
    expect(parseMeta(decoded!)).toEqual({ tenant: 't', model: 'm', version: 3 });
    expect(Buffer.compare(decoded!.body, body)).toBe(0);
  });

  it('reassembles frames however the stream is cut, several per chunk or one over many', () => {
    const frames = Array.from({ length: 20 }, (_, i) =>
      frame(i + 1, FrameKind.response, { status: 200, i }, Buffer.alloc(i * 37 + (i % 3), i)),
    );
    const stream = Buffer.concat(frames);
    for (const cut of [1, 3, 13, 64, 1000, stream.length]) {
      const reader = new FrameReader();
      const seen: { id: number; length: number; fill: number }[] = [];
      for (let at = 0; at < stream.length; at += cut) {
        for (const f of reader.push(stream.subarray(at, at + cut))) {
          seen.push({ id: f.id, length: f.body.length, fill: f.body[0] ?? -1 });
          expect(parseMeta<{ i: number }>(f).i).toBe(f.id - 1);
        }
      }
      expect(seen.map((s) => s.id)).toEqual(frames.map((_, i) => i + 1));
      expect(seen.map((s) => s.length)).toEqual(frames.map((_, i) => i * 37 + (i % 3)));
      expect(seen.slice(1).every((s) => s.fill === s.id - 1)).toBe(true);
    }
  });

  it('copies a long frame in chunk by chunk as they come, keeping none of them for a join', () => {
    const body = Buffer.alloc(1024 * 1024 + 3);
    for (let i = 0; i < body.length; i += 1) body[i] = (i * 31) % 251;
    const stream = Buffer.concat([
      frame(5, FrameKind.response, { status: 200 }, body),
      frame(6, FrameKind.refused, {}, Buffer.alloc(0)),
    ]);
    const reader = new FrameReader();
    const frames = [];
    for (let at = 0; at < stream.length; at += 16 * 1024) {
      const chunk = Buffer.from(stream.subarray(at, at + 16 * 1024));
      frames.push(...reader.push(chunk));
      // Overwritten once pushed, as a socket's reused read buffer would be: the frame keeps
      // what the chunk held when it came (a reader that kept chunks to join them would not).
      chunk.fill(0);
    }
    expect(frames.map((f) => f.id)).toEqual([5, 6]);
    expect(Buffer.compare(frames[0]!.body, body)).toBe(0);
    expect(parseMeta(frames[0]!)).toEqual({ status: 200 });
  });

  it('keeps an empty body and a frame split right after its length prefix', () => {
    const reader = new FrameReader();
    const whole = frame(1, FrameKind.refused, {}, Buffer.alloc(0));
    expect(reader.push(whole.subarray(0, 4))).toEqual([]);
    const [refused] = reader.push(whole.subarray(4));
    expect(refused!.kind).toBe(FrameKind.refused);
    expect(refused!.body.length).toBe(0);
  });

  it('rejects a corrupt stream instead of waiting for gigabytes', () => {
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(0xffffffff, 0);
    expect(() => new FrameReader().push(bad)).toThrow(FrameError);
    const overrun = frame(1, FrameKind.infer, { a: 1 }, Buffer.alloc(0));
    overrun.writeUInt32LE(1000, 9); // meta longer than the frame
    expect(() => new FrameReader().push(overrun)).toThrow(/overruns/);
    const notJson = frame(1, FrameKind.infer, {}, Buffer.alloc(0));
    notJson.write('{', 13);
    notJson.writeUInt32LE(1, 9);
    const [f] = new FrameReader().push(notJson);
    expect(() => parseMeta(f!)).toThrow(FrameError);
  });
});
