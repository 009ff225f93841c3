import { type Tensor, type TensorSpec, formatShape } from './tensor.js';
import { TensorError } from './tensor.error.js';

/**
 * Checks request inputs against a model's input signature: every input known, none missing,
 * datatypes equal, same rank and every fixed (non -1) dim equal. Throws on the first problem.
 */
export function checkInputsAgainstSignature(
  inputs: readonly Tensor[],
  signature: readonly TensorSpec[],
): void {
  const specs = new Map(signature.map((spec) => [spec.name, spec]));
  const given = new Set<string>();
  for (const input of inputs) {
    const where = `input '${input.name}'`;
    const spec = specs.get(input.name);
    if (spec === undefined) {
      const known = signature.map((s) => `'${s.name}'`).join(', ');
      throw new TensorError(`${where}: the model has no such input (its inputs: ${known})`);
    }
    given.add(input.name);
    if (input.datatype !== spec.datatype) {
      throw new TensorError(`${where}: expected datatype ${spec.datatype}, got ${input.datatype}`);
    }
    if (input.shape.length !== spec.shape.length) {
      throw new TensorError(
        `${where}: expected shape ${formatShape(spec.shape)} (rank ${spec.shape.length}), got ${formatShape(input.shape)} (rank ${input.shape.length})`,
      );
    }
    for (let dim = 0; dim < spec.shape.length; dim++) {
      const expected = spec.shape[dim] as number;
      if (expected !== -1 && expected !== input.shape[dim]) {
        throw new TensorError(
          `${where}: expected shape ${formatShape(spec.shape)}, got ${formatShape(input.shape)} (dimension ${dim} must be ${expected})`,
        );
      }
    }
  }
  for (const spec of signature) {
    if (!given.has(spec.name)) {
      throw new TensorError(
        `input '${spec.name}': required by the model but missing from the request`,
      );
    }
  }
}
