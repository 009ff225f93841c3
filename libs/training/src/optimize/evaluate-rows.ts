import type * as ort from 'onnxruntime-node';
import { decodeModel, TensorDataType } from '@maas/onnx';
import { type FeatureLayout } from '../pipeline/run-training.js';

/**
 * How a model trained here takes its features, read from its ONNX inputs: one `features`
 * matrix (every feature numeric), or one [n, 1] input per feature, named as the feature.
 */
export function featureLayoutOf(
  modelBytes: Uint8Array,
  featureNames: readonly string[],
): FeatureLayout {
  const { graph } = decodeModel(modelBytes);
  const constants = new Set(graph.initializer.map((tensor) => tensor.name));
  const inputs = new Map(
    graph.input.filter((input) => !constants.has(input.name)).map((input) => [input.name, input]),
  );
  if (inputs.size === 1 && inputs.has('features')) {
    return {
      allNumeric: true,
      features: featureNames.map((name) => ({ name, type: 'numeric' as const })),
    };
  }
  return {
    allNumeric: false,
    features: featureNames.map((name) => {
      const input = inputs.get(name);
      if (!input) throw new Error(`the model has no input '${name}'`);
      const type =
        input.type?.tensorType?.elemType === TensorDataType.STRING ? 'categorical' : 'numeric';
      return { name, type };
    }),
  };
}

/**
 * The fraction of rows whose `label` output is the row's target (the CSV cell): how a
 * classifier trained here is scored on its held-out rows.
 */
export async function labelAccuracy(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  targets: readonly string[],
): Promise<number> {
  const result = await session.run(feeds, ['label']);
  const labels = result.label.data as ArrayLike<string | bigint | number>;
  let right = 0;
  targets.forEach((target, i) => {
    const label = labels[i];
    const same = typeof label === 'string' ? label === target : Number(label) === Number(target);
    if (same) right += 1;
  });
  return targets.length === 0 ? 0 : right / targets.length;
}
