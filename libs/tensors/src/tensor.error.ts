/** Canonical codes, so one exception filter can map them to HTTP (400 / 500 / 501). */
export type TensorErrorCode = 'INVALID_ARGUMENT' | 'INTERNAL' | 'UNIMPLEMENTED';

/**
 * Every codec and shape failure. Messages about a request tensor start with
 * `input '<name>': ` so a client can tell which tensor to fix.
 */
export class TensorError extends Error {
  readonly code: TensorErrorCode;

  constructor(message: string, code: TensorErrorCode = 'INVALID_ARGUMENT') {
    super(message);
    this.name = 'TensorError';
    this.code = code;
  }
}
