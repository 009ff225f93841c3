import { CodedError } from '../coded-error.js';

/** The uploaded file is not a model the platform can load. */
export class InvalidModelError extends CodedError {
  readonly code = 'INVALID_MODEL';
}

/** A caller-supplied value breaks a documented rule (e.g. the model name pattern). */
export class InvalidArgumentError extends CodedError {
  readonly code = 'INVALID_ARGUMENT';
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
  }
}

/** A name the upload supplied, safe to put in an error message: printable and short. */
export function printable(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
