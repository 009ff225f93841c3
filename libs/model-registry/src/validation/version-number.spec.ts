import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './validation-errors.js';
import { parseVersionNumber } from './version-number.js';

describe('parseVersionNumber', () => {
  it.each([
    ['1', 1],
    ['42', 42],
    ['007', 7],
    ['999999999', 999_999_999],
  ])('reads %j as %d', (raw, expected) => {
    expect(parseVersionNumber(raw)).toBe(expected);
  });

  it.each(['', '0', '000', '-1', '+1', '1.0', '1e3', ' 1', '1 ', '0x10', 'latest', '1000000000'])(
    'refuses %j with INVALID_ARGUMENT, naming it',
    (raw) => {
      let failure: unknown;
      try {
        parseVersionNumber(raw);
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(InvalidArgumentError);
      expect(failure).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: `version must be a positive integer, got '${raw}'`,
      });
    },
  );
});
