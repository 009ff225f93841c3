/** One server-sent event, as the WHATWG event-stream format defines its fields. */
export interface SseMessage {
  /** `event:` (`message` when the server named none). */
  event: string;
  /** `data:` lines joined by newlines. */
  data: string;
  /** `id:` of this event, if it carried one. */
  id?: string;
  /** `retry:` in milliseconds, if it carried one. */
  retry?: number;
}

/**
 * Splits an event stream into events: lines end in LF, CRLF or CR (a CR at the end of one
 * chunk followed by an LF at the start of the next is one line end); a blank line dispatches;
 * comment lines (`:`) are skipped; an event without data is dropped, as browsers do. Unlike a
 * browser's EventSource, `id` is the event's own: the caller keeps the last one it saw for
 * Last-Event-ID.
 */
export class SseParser {
  private buffer = '';
  private pendingCr = false;
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  private retry: number | undefined;

  /** Feeds decoded text; answers the events it completed. */
  push(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    let chunk = text;
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i += 1;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
      const message = this.line(line);
      if (message) out.push(message);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const data = this.data;
    const event = this.event || 'message';
    this.data = [];
    this.event = '';
    const retry = this.retry;
    this.retry = undefined;
    // Per event: an event that names no id (the gateway's `end`) must not repeat the last one.
    const id = this.id;
    this.id = undefined;
    if (data.length === 0) return undefined;
    return {
      event,
      data: data.join('\n'),
      ...(id !== undefined && { id }),
      ...(retry !== undefined && { retry }),
    };
  }
}

/** The events of a response body, in order; cancels the body when the consumer stops early. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
