import { CodedError } from '../coded-error.js';

/** The object does not exist. */
export class ObjectNotFoundError extends CodedError {
  readonly code = 'NOT_FOUND';

  constructor(readonly key: string) {
    super(`object '${key}' not found`);
  }
}

/** A put went over its maxBytes; nothing was stored. */
export class PayloadTooLargeError extends CodedError {
  readonly code = 'PAYLOAD_TOO_LARGE';

  constructor(readonly maxBytes: number) {
    super(`payload exceeds the limit of ${maxBytes} bytes`);
  }
}

/** A key or prefix that could name something outside the store (or is malformed). */
export class InvalidObjectKeyError extends CodedError {
  readonly code = 'INVALID_ARGUMENT';
}
