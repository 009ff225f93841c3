export interface ClassificationMetrics {
  accuracy: number;
  f1Macro: number;
  confusionMatrix: { labels: string[]; matrix: number[][] };
  testRows: number;
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
  testRows: number;
}

export type ModelMetrics = ClassificationMetrics | RegressionMetrics;

/** Accuracy, macro F1 and the confusion matrix (rows: true class, columns: predicted). */
export function classificationMetrics(
  truth: readonly number[],
  predicted: readonly number[],
  labels: readonly string[],
): ClassificationMetrics {
  const k = labels.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  truth.forEach((t, i) => {
    matrix[t][predicted[i]] += 1;
    if (t === predicted[i]) correct += 1;
  });
  let f1Sum = 0;
  let classesCounted = 0;
  for (let c = 0; c < k; c += 1) {
    const tp = matrix[c][c];
    const actual = matrix[c].reduce((a, b) => a + b, 0);
    const predictedCount = matrix.reduce((a, row) => a + row[c], 0);
    if (actual === 0 && predictedCount === 0) continue;
    classesCounted += 1;
    const precision = predictedCount > 0 ? tp / predictedCount : 0;
    const recall = actual > 0 ? tp / actual : 0;
    f1Sum += precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  }
  return {
    accuracy: truth.length > 0 ? correct / truth.length : 0,
    f1Macro: classesCounted > 0 ? f1Sum / classesCounted : 0,
    confusionMatrix: { labels: [...labels], matrix },
    testRows: truth.length,
  };
}

export function regressionMetrics(
  truth: readonly number[],
  predicted: readonly number[],
): RegressionMetrics {
  const n = truth.length;
  const mean = truth.reduce((a, b) => a + b, 0) / Math.max(1, n);
  let se = 0;
  let ae = 0;
  let ss = 0;
  truth.forEach((t, i) => {
    se += (t - predicted[i]) ** 2;
    ae += Math.abs(t - predicted[i]);
    ss += (t - mean) ** 2;
  });
  return {
    rmse: Math.sqrt(se / Math.max(1, n)),
    mae: ae / Math.max(1, n),
    r2: ss > 0 ? 1 - se / ss : 0,
    testRows: n,
  };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i += 1) if (values[i] > values[best]) best = i;
  return best;
}
