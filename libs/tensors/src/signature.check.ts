import type { Datatype } from './datatype.js';
import { type Tensor, type TensorSpec, formatShape } from './tensor.js';
import { TensorError } from './tensor.error.js';

/**
 * Checks one request input (its name, datatype and shape, before any of its data is read)
 * against a model's input signature: known name, equal datatype, same rank and every fixed
 * (non -1) dim equal. O(rank); throws on the first problem.
 */
export function checkInputAgainstSignature(
  name: string,
  datatype: Datatype,
  shape: readonly number[],
  signature: readonly TensorSpec[],
): void {
  let spec: TensorSpec | undefined;
  for (const candidate of signature) if (candidate.name === name) spec = candidate;
  const where = `input '${name}'`;
  if (spec === undefined) {
    const known = signature.map((s) => `'${s.name}'`).join(', ');
    throw new TensorError(`${where}: the model has no such input (its inputs: ${known})`);
  }
  if (datatype !== spec.datatype) {
    throw new TensorError(`${where}: expected datatype ${spec.datatype}, got ${datatype}`);
  }
  if (shape.length !== spec.shape.length) {
    throw new TensorError(
      `${where}: expected shape ${formatShape(spec.shape)} (rank ${spec.shape.length}), got ${formatShape(shape)} (rank ${shape.length})`,
    );
  }
  for (let dim = 0; dim < spec.shape.length; dim++) {
    const expected = spec.shape[dim] as number;
    if (expected !== -1 && expected !== shape[dim]) {
      throw new TensorError(
        `${where}: expected shape ${formatShape(spec.shape)}, got ${formatShape(shape)} (dimension ${dim} must be ${expected})`,
      );
    }
  }
}

/**
 * Checks request inputs against a model's input signature: every input known, none missing,
 * datatypes equal, same rank and every fixed (non -1) dim equal. Throws on the first problem.
 */
export function checkInputsAgainstSignature(
  inputs: readonly Tensor[],
  signature: readonly TensorSpec[],
): void {
  const given = new Set<string>();
  for (const input of inputs) {
    checkInputAgainstSignature(input.name, input.datatype, input.shape, signature);
    given.add(input.name);
  }
  for (const spec of signature) {
    if (!given.has(spec.name)) {
      throw new TensorError(
        `input '${spec.name}': required by the model but missing from the request`,
      );
    }
  }
}
