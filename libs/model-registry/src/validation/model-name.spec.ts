import { describe, expect, it } from 'vitest';
import { MODEL_NAME_PATTERN, assertValidModelName } from './model-name.js';
import { InvalidArgumentError } from './validation-errors.js';

describe('assertValidModelName', () => {
  it.each(['iris', 'mnist-mlp', 'churn_v2.1', '0day', 'a'.repeat(63)])('accepts %j', (name) => {
    expect(() => assertValidModelName(name)).not.toThrow();
    expect(MODEL_NAME_PATTERN.test(name)).toBe(true);
  });

  it.each([
    '',
    'Iris',
    '-lead',
    '.hidden',
    '_x',
    'has space',
    'a/b',
    '../x',
    'é',
    'a'.repeat(64),
    42,
    null,
  ])('rejects %j with INVALID_ARGUMENT', (name) => {
    let failure: unknown;
    try {
      assertValidModelName(name);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(InvalidArgumentError);
    expect(failure).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
