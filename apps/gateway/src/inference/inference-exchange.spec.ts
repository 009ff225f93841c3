import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InferenceExchange } from './inference-exchange.js';

function exchangeOver(response: EventEmitter): InferenceExchange {
  const request = { headers: {}, url: '/v2/models/m/infer' } as IncomingMessage;
  return new InferenceExchange(request, response as ServerResponse, '/v2/models/:model/infer');
}

describe('InferenceExchange.onDone', () => {
  it('calls every callback once, in the order given, when the answer is sent', () => {
    const response = new EventEmitter();
    const exchange = exchangeOver(response);
    const calls: string[] = [];
    exchange.onDone(() => calls.push('metrics'));
    exchange.onDone(() => calls.push('usage'));
    response.emit('finish');
    response.emit('close'); // a sent answer's connection closes later: nothing runs again
    expect(calls).toEqual(['metrics', 'usage']);
    // One pair of listeners, however many callbacks.
    expect(response.listenerCount('finish') + response.listenerCount('close')).toBe(0);
  });

  it('calls them once when the client leaves before the answer is sent', () => {
    const response = new EventEmitter();
    const exchange = exchangeOver(response);
    let calls = 0;
    exchange.onDone(() => calls++);
    exchange.onDone(() => calls++);
    expect(response.listenerCount('finish')).toBe(1);
    expect(response.listenerCount('close')).toBe(1);
    response.emit('close');
    response.emit('finish');
    expect(calls).toBe(2);
  });
});
