import { sessionStore } from './client';
import { errorOf } from './session';

/** One server-sent event. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * The text/event-stream format, fed in arbitrary chunks: blank-line separated blocks of
 * `field: value` lines; `:` lines are comments (keep-alives); data lines join with newlines.
 */
export class SseParser {
  private buffer = '';
  /** A chunk that ended in CR: its LF may open the next chunk (one line end, not two). */
  private pendingCr = false;

  feed(chunk: string): SseMessage[] {
    let text = this.pendingCr ? `\r${chunk}` : chunk;
    this.pendingCr = text.endsWith('\r');
    if (this.pendingCr) text = text.slice(0, -1);
    this.buffer += text.replace(/\r\n?/g, '\n');
    const messages: SseMessage[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
      }
      if (data.length > 0) messages.push({ event, data: data.join('\n'), ...(id && { id }) });
    }
    return messages;
  }
}

export interface FollowOptions {
  onMessage: (message: SseMessage) => void;
  /** Stops following (the page closed). */
  signal: AbortSignal;
  /** The event that closes the stream for good (the job's final state). */
  endEvent?: string;
}

/**
 * Follows an event stream with fetch rather than EventSource, which cannot send the API key
 * header. A dropped connection is resumed after the last event id it saw (Last-Event-ID), so
 * no event is shown twice or lost; it stops at `endEvent`, on abort, or on an error answer.
 */
export async function followEvents(path: string, options: FollowOptions): Promise<void> {
  let lastId: string | undefined;
  let failures = 0;
  const endEvent = options.endEvent ?? 'end';
  while (!options.signal.aborted) {
    let ended = false;
    try {
      const headers: Record<string, string> = {
        accept: 'text/event-stream',
        ...(await sessionStore.authHeaders()),
        ...(lastId !== undefined && { 'last-event-id': lastId }),
      };
      const response = await fetch(path, { headers, signal: options.signal });
      if (!response.ok || response.body === null) {
        const error = await errorOf(response);
        if (response.status === 401 && (await sessionStore.unauthorized(error))) continue;
        throw error;
      }
      failures = 0;
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const message of parser.feed(value)) {
          if (message.id !== undefined) lastId = message.id;
          options.onMessage(message);
          if (message.event === endEvent) ended = true;
        }
      }
    } catch (error) {
      if (options.signal.aborted) return;
      // Answers (404, 429…) are final; a dropped connection is retried a few times.
      if (!(error instanceof TypeError) || (failures += 1) > 5) throw error;
    }
    if (ended) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
