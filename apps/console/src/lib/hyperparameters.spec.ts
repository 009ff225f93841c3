import { PLANS as SERVER_PLANS } from '@maas/config';
import { mlpHyperparametersSchema, treeHyperparametersSchema } from '@maas/training';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { PLANS } from '../api/types';
import {
  defaultText,
  type HyperparameterField,
  hyperparametersFrom,
  MLP_FIELDS,
  TREE_FIELDS,
} from './hyperparameters';

type Shape = Record<string, z.ZodType>;

/** The schema a field's value passes through, without optional/default wrappers. */
function inner(schema: z.ZodType): z.ZodType {
  let current = schema as z.ZodType & { unwrap?: () => z.ZodType; def: { type: string } };
  while (['optional', 'default', 'nullable'].includes(current.def.type)) {
    current = (current as unknown as { def: { innerType: typeof current } }).def.innerType;
  }
  return current;
}

function checkAgainst(fields: HyperparameterField[], schema: z.ZodObject) {
  const shape = schema.shape as Shape;
  // Every hyperparameter the trainer takes has a field, and no field is made up.
  expect(fields.map((f) => f.name).sort()).toEqual(Object.keys(shape).sort());
  const defaults = schema.parse({}) as Record<string, unknown>;
  for (const field of fields) {
    const server = inner(shape[field.name]) as z.ZodType & {
      options?: string[];
      maxValue?: number | null;
      def: { type: string };
    };
    expect(field.defaultValue, `${field.name}'s default`).toEqual(defaults[field.name]);
    if (field.kind === 'choice') {
      expect(server.def.type, field.name).toBe('enum');
      expect(field.choices, `${field.name}'s choices`).toEqual(server.options);
    }
    if (field.kind === 'int' || field.kind === 'number') {
      expect(server.def.type, field.name).toBe('number');
      const max = server.maxValue;
      if (max !== undefined && max !== null && Number.isFinite(max)) {
        expect(field.max, `${field.name}'s maximum`).toBe(max);
      }
    }
    if (field.kind === 'intList') expect(server.def.type, field.name).toBe('array');
  }
}

describe('the training form’s hyperparameters', () => {
  it('are the MLP job spec’s: names, choices, defaults and maxima', () => {
    checkAgainst(MLP_FIELDS, mlpHyperparametersSchema);
  });

  it('are the decision tree job spec’s: names, choices, defaults and maxima', () => {
    checkAgainst(TREE_FIELDS, treeHyperparametersSchema);
  });

  it('send only what was changed, and what they send the trainer accepts', () => {
    const untouched = hyperparametersFrom(MLP_FIELDS, {});
    expect(untouched).toEqual({ hyperparameters: {}, errors: {} });
    const changed = hyperparametersFrom(MLP_FIELDS, {
      hiddenLayers: '16, 8',
      epochs: '120',
      activation: 'tanh',
      learningRate: defaultText(MLP_FIELDS.find((f) => f.name === 'learningRate')!),
    });
    expect(changed.errors).toEqual({});
    expect(changed.hyperparameters).toEqual({
      hiddenLayers: [16, 8],
      epochs: 120,
      activation: 'tanh',
    });
    expect(mlpHyperparametersSchema.safeParse(changed.hyperparameters).success).toBe(true);
    const tree = hyperparametersFrom(TREE_FIELDS, { variant: 'cart', maxDepth: '4', ccpAlpha: '' });
    expect(tree.hyperparameters).toEqual({ variant: 'cart', maxDepth: 4 });
    expect(treeHyperparametersSchema.safeParse(tree.hyperparameters).success).toBe(true);
  });

  it('name what is wrong with a value before it is sent', () => {
    const { errors } = hyperparametersFrom(MLP_FIELDS, {
      epochs: '1.5',
      dropout: '2',
      hiddenLayers: '8, x',
      optimizer: 'lbfgs',
      batchSize: 'many',
    });
    expect(errors).toEqual({
      epochs: 'a whole number',
      dropout: 'at most 0.9',
      hiddenLayers: 'whole numbers from 1 to 4096, comma-separated',
      optimizer: 'not one of the choices',
      batchSize: 'not a number',
    });
  });
});

describe('the console’s plan list', () => {
  it('is the platform’s', () => {
    expect([...PLANS].sort()).toEqual(Object.keys(SERVER_PLANS).sort());
  });
});
