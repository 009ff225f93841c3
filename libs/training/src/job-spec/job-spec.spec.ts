import { describe, expect, it } from 'vitest';
import type { ColumnSummary } from '../data/csv-reader.js';
import { planTraining, TrainingSpecError } from './job-spec.js';

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
    // C4.5 is the default classification tree; a regression tree is CART's.
    expect(plan.hyperparameters).toMatchObject({
      variant: 'c4.5',
      criterion: 'gainRatio',
      pruning: 'pessimistic',
      maxDepth: 16,
      minGain: 0,
    });
    const regression = planTraining({ ...base, target: 'price', task: 'regression' }, columns);
    expect(regression.hyperparameters).toMatchObject({
      variant: 'cart',
      criterion: 'variance',
      pruning: 'costComplexity',
    });
    const gini = planTraining(
      { ...base, target: 'n', task: 'classification', hyperparameters: { criterion: 'gini' } },
      columns,
    );
    expect(gini.hyperparameters).toMatchObject({ variant: 'cart', pruning: 'costComplexity' });
    const id3 = planTraining(
      { ...base, target: 'n', task: 'classification', hyperparameters: { variant: 'id3' } },
      columns,
    );
    expect(id3.hyperparameters).toMatchObject({ criterion: 'entropy', pruning: 'none' });
    const c45 = planTraining(
      { ...base, target: 'n', task: 'classification', hyperparameters: { criterion: 'gainRatio' } },
      columns,
    );
    expect(c45.hyperparameters).toMatchObject({ pruning: 'pessimistic' });
  });

  it('refuses variants, criteria and pruning methods that do not go together', () => {
    const tree = (
      task: 'classification' | 'regression',
      hyperparameters: Record<string, unknown>,
    ) => reason({ ...base, target: task === 'regression' ? 'price' : 'n', task, hyperparameters });
    expect(tree('regression', { variant: 'c4.5' })).toContain('variant');
    expect(tree('classification', { variant: 'id3', criterion: 'gini' })).toContain('criterion');
    expect(tree('classification', { variant: 'c4.5', pruning: 'costComplexity' })).toContain(
      'pruning',
    );
    expect(tree('classification', { testSplit: 0.01 })).toContain('testSplit');
    expect(tree('classification', { minGain: -1 })).toContain('minGain');
    expect(
      planTraining(
        { ...base, target: 'n', task: 'classification', hyperparameters: { testSplit: 0 } },
        columns,
      ).hyperparameters.testSplit,
    ).toBe(0);
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
