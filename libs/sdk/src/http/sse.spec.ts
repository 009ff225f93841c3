import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSse, SseParser, type SseMessage } from './sse.js';

const STREAM =
  ': training job events\n\n' +
  'id: 7\nevent: state\ndata: {"status":"running"}\n\n' +
  'id: 8\r\nevent: progress\r\ndata: {"epoch":1,\r\ndata: "loss":0.5}\r\n\r\n' +
  ': keep-alive\n\n' +
  'id: 9\revent: end\rdata: {"status":"succeeded"}\r\r';

const EXPECTED: SseMessage[] = [
  { event: 'state', data: '{"status":"running"}', id: '7' },
  { event: 'progress', data: '{"epoch":1,\n"loss":0.5}', id: '8' },
  { event: 'end', data: '{"status":"succeeded"}', id: '9' },
];

function parseInPieces(text: string, cuts: number[]): SseMessage[] {
  const parser = new SseParser();
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: SseMessage[] = [];
  let from = 0;
  for (const point of [...points, text.length]) {
    out.push(...parser.push(text.slice(from, point)));
    from = point;
  }
  return out;
}

describe('SseParser', () => {
  it('reads events, ids and multi-line data with LF, CRLF and CR line ends; skips comments', () => {
    expect(parseInPieces(STREAM, [])).toEqual(EXPECTED);
  });

  it('reads the same events however the stream is cut into chunks (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(STREAM.length), { maxLength: 30 }), (cuts) => {
        expect(parseInPieces(STREAM, cuts)).toEqual(EXPECTED);
      }),
    );
  });

  it('gives an event without an id field no id (not the previous one)', () => {
    const parser = new SseParser();
    expect(parser.push('id: 4\ndata: a\n\nevent: end\ndata: b\n\n')).toEqual([
      { event: 'message', data: 'a', id: '4' },
      { event: 'end', data: 'b' },
    ]);
  });

  it('drops an event without data, names an unnamed one `message`, keeps `retry`', () => {
    const parser = new SseParser();
    expect(parser.push('event: ping\n\nretry: 2500\ndata:x\n\n')).toEqual([
      { event: 'message', data: 'x', retry: 2500 },
    ]);
  });

  it('reads a byte stream split inside a multi-byte character', async () => {
    const bytes = new TextEncoder().encode('event: log\ndata: {"message":"ünï"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 27));
        controller.enqueue(bytes.subarray(27));
        controller.close();
      },
    });
    const events: SseMessage[] = [];
    for await (const event of readSse(body)) events.push(event);
    expect(events).toEqual([{ event: 'log', data: '{"message":"ünï"}' }]);
  });

  it('cancels the body when the reader stops early', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: 1\n\ndata: 2\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of readSse(body)) {
      expect(event.data).toBe('1');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
