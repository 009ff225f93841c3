/** The object does not exist. */
export class ObjectNotFoundError extends Error {
  readonly code = 'NOT_FOUND';

  constructor(readonly key: string) {
    super(`object '${key}' not found`);
    this.name = 'ObjectNotFoundError';
  }
}

/** A put went over its maxBytes; nothing was stored. */
export class PayloadTooLargeError extends Error {
  readonly code = 'PAYLOAD_TOO_LARGE';

  constructor(readonly maxBytes: number) {
    super(`payload exceeds the limit of ${maxBytes} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** A key or prefix that could name something outside the store (or is malformed). */
export class InvalidObjectKeyError extends Error {
  readonly code = 'INVALID_ARGUMENT';

  constructor(message: string) {
    super(message);
    this.name = 'InvalidObjectKeyError';
  }
}
