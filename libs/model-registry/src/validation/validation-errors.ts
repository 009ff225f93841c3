/** The uploaded file is not a model the platform can load. */
export class InvalidModelError extends Error {
  readonly code = 'INVALID_MODEL';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidModelError';
  }
}

/** A caller-supplied value breaks a documented rule (e.g. the model name pattern). */
export class InvalidArgumentError extends Error {
  readonly code = 'INVALID_ARGUMENT';

  constructor(message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
  }
}
