import { InvalidArgumentError } from './validation-errors.js';

/**
 * A model version number as a URL or a route names it: 1 to 9 decimal digits, at least 1 (no
 * sign, no exponent, no spaces). Everything else is an INVALID_ARGUMENT (400).
 */
export function parseVersionNumber(raw: string): number {
  if (!/^[0-9]{1,9}$/.test(raw) || Number(raw) < 1) {
    throw new InvalidArgumentError(`version must be a positive integer, got '${raw}'`);
  }
  return Number(raw);
}
