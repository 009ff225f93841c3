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

/**
 * The upload is refused for what validating it would cost: more memory or time than the
 * validator is given, or an archive that unpacks past its limit. A 422 like any model the
 * platform cannot take, with `limit` saying which bound it met.
 */
export class ValidationLimitError extends InvalidModelError {
  constructor(
    readonly limit: 'memory' | 'time' | 'unpacked-size',
    message: string,
  ) {
    super(message);
    this.name = 'ValidationLimitError';
  }
}
