import { InvalidArgumentError } from './validation-errors.js';

/** Lowercase, URL- and key-safe, at most 63 characters (like a DNS label, plus '_' and '.'). */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export function assertValidModelName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !MODEL_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      `invalid model name ${JSON.stringify(name)}: use 1-63 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit`,
    );
  }
}
