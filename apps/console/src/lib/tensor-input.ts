import type { TensorSpec } from '../api/types';

/** One input tensor of an Open Inference Protocol (v2) request. */
export interface V2Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | string | boolean)[];
}

const MAX_EXAMPLE_ELEMENTS = 4096;

const zeroOf = (datatype: string): number | string | boolean =>
  datatype === 'BYTES' ? '' : datatype === 'BOOL' ? false : 0;

/**
 * A JSON example for an input of this signature: its shape with each variable dimension (-1)
 * as 1, filled with zeros; '' when that would be too large to type into.
 */
export function exampleFor(spec: TensorSpec): string {
  const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_EXAMPLE_ELEMENTS) return '';
  const build = (depth: number): unknown =>
    depth === shape.length
      ? zeroOf(spec.datatype)
      : Array.from({ length: shape[depth] }, () => build(depth + 1));
  return JSON.stringify(shape.length === 0 ? [zeroOf(spec.datatype)] : build(0));
}

/** The shape of a rectangular nested array, or an error naming where it is ragged. */
function nestedShape(value: unknown): number[] {
  if (!Array.isArray(value)) return [];
  if (value.length === 0) return [0];
  const inner = nestedShape(value[0]);
  for (let i = 1; i < value.length; i += 1) {
    if (JSON.stringify(nestedShape(value[i])) !== JSON.stringify(inner)) {
      throw new Error('the rows are not all the same length');
    }
  }
  return [value.length, ...inner];
}

/**
 * A v2 input tensor from what was typed for `spec`: a JSON array, nested to the input's shape
 * or flat (the shape then follows the signature, its one variable dimension from the count).
 */
export function tensorFromText(spec: TensorSpec, text: string): V2Tensor {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${spec.name}: not valid JSON (write an array such as [[1, 2]])`);
  }
  if (!Array.isArray(value)) value = [value];
  let nested: number[];
  try {
    nested = nestedShape(value);
  } catch (error) {
    throw new Error(`${spec.name}: ${(error as Error).message}`);
  }
  const data = (value as unknown[]).flat(Infinity) as unknown[];
  const wantType =
    spec.datatype === 'BYTES' ? 'string' : spec.datatype === 'BOOL' ? 'boolean' : 'number';
  if (data.some((item) => typeof item !== wantType)) {
    throw new Error(`${spec.name}: every value must be a ${wantType} (${spec.datatype})`);
  }
  let shape: number[];
  if (nested.length === spec.shape.length) {
    shape = nested;
  } else if (nested.length === 1 && spec.shape.length > 1) {
    const variable = spec.shape.filter((d) => d < 0).length;
    const known = spec.shape.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
    if (variable > 1 || known === 0 || data.length % known !== 0) {
      throw new Error(
        `${spec.name}: ${data.length} values do not fill the shape [${spec.shape.join(', ')}]; nest them`,
      );
    }
    shape = spec.shape.map((d) => (d < 0 ? data.length / known : d));
  } else {
    throw new Error(
      `${spec.name}: the array has ${nested.length} dimensions, the model takes ${spec.shape.length}`,
    );
  }
  shape.forEach((d, i) => {
    const want = spec.shape[i];
    if (want >= 0 && d !== want) {
      throw new Error(`${spec.name}: dimension ${i} is ${d}, the model takes ${want}`);
    }
  });
  return { name: spec.name, datatype: spec.datatype, shape, data: data as V2Tensor['data'] };
}
