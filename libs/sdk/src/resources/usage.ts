import type { CallOptions } from '../http/typed-paths.js';
import type { Transport } from '../http/transport.js';
import type { Usage } from '../types.js';

export interface UsageRange {
  /** Default: the start of this month (UTC). */
  from?: Date | string;
  /** Default: now. */
  to?: Date | string;
  /** Rows per `day` (default), `model` or API `key`. */
  groupBy?: 'day' | 'model' | 'key';
}

/** A Date as the ISO 8601 instant the API takes; strings pass as they are. */
export const toInstant = (value: Date | string | undefined) =>
  value instanceof Date ? value.toISOString() : value;

/** The tenant's metered inference usage. */
export class UsageApi {
  constructor(private readonly transport: Transport) {}

  get(range: UsageRange = {}, options: CallOptions = {}): Promise<Usage> {
    return this.transport.call('get', '/api/usage', {
      query: { from: toInstant(range.from), to: toInstant(range.to), groupBy: range.groupBy },
      ...options,
    });
  }
}
