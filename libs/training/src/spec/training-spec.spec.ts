import { describe, expect, it } from 'vitest';
import type { ColumnSummary } from '../data/csv-reader.js';
import { planTraining, TrainingSpecError } from './training-spec.js';

const columns: ColumnSummary[] = [
  { name: 'x', type: 'numeric', missing: 0, distinct: 90, integer: false },
  { name: 'n', type: 'numeric', missing: 0, distinct: 3, integer: true },
  { name: 'colour', type: 'categorical', missing: 0, distinct: 4 },
  { name: 'price', type: 'numeric', missing: 0, distinct: 500, integer: false },
];

function reason(request: Parameters<typeof planTraining>[0]): string {
  try {
    planTraining(request, columns);
  } catch (error) {
    expect(error).toBeInstanceOf(TrainingSpecError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('training request validation', () => {
  const base = { algorithm: 'decision_tree' as const, hyperparameters: {} };

  it('fills in features and hyperparameter defaults', () => {
    const plan = planTraining({ ...base, target: 'colour', task: 'classification' }, columns);
    expect(plan.features).toEqual(['x', 'n', 'price']);
    expect(plan.hyperparameters).toMatchObject({
      criterion: 'gini',
      pruning: 'costComplexity',
      maxDepth: 16,
    });
    const c45 = planTraining(
      { ...base, target: 'n', task: 'classification', hyperparameters: { criterion: 'gainRatio' } },
      columns,
    );
    expect(c45.hyperparameters).toMatchObject({ pruning: 'pessimistic' });
  });

  it('refuses columns, tasks and hyperparameters that cannot work', () => {
    expect(reason({ ...base, target: 'nope', task: 'classification' })).toContain("target 'nope'");
    expect(reason({ ...base, target: 'x', features: ['y'], task: 'regression' })).toContain(
      "feature 'y'",
    );
    expect(reason({ ...base, target: 'x', features: ['n', 'n'], task: 'regression' })).toContain(
      'twice',
    );
    expect(reason({ ...base, target: 'x', features: ['x'], task: 'regression' })).toContain('both');
    expect(reason({ ...base, target: 'colour', task: 'regression' })).toContain('categorical');
    expect(reason({ ...base, target: 'price', task: 'classification' })).toContain('continuous');
    expect(
      reason({
        ...base,
        target: 'price',
        task: 'regression',
        hyperparameters: { criterion: 'gini' },
      }),
    ).toContain('criterion');
    expect(
      reason({
        ...base,
        target: 'price',
        task: 'regression',
        hyperparameters: { pruning: 'pessimistic' },
      }),
    ).toContain('pruning');
    expect(
      reason({
        ...base,
        target: 'n',
        task: 'classification',
        hyperparameters: { minSamplesLeaf: 0 },
      }),
    ).toContain('minSamplesLeaf');
    expect(
      reason({
        algorithm: 'mlp',
        target: 'n',
        task: 'classification',
        hyperparameters: { dropout: 1.5 },
      }),
    ).toContain('dropout');
    expect(
      reason({
        algorithm: 'mlp',
        target: 'n',
        task: 'classification',
        hyperparameters: { layers: [3] },
      }),
    ).toContain('layers');
  });
});
