// Test-only sample tensors, one per datatype, with values at the edges of each range.
import type { Datatype } from './datatype.js';
import { numberToBfloat16Bits, numberToFloat16Bits } from './half-float.js';
import type { Tensor } from './tensor.js';

export const SAMPLE_DATA: Record<Datatype, Tensor['data']> = {
  BOOL: Uint8Array.of(1, 0, 1, 1),
  UINT8: Uint8Array.of(0, 255, 7, 128),
  UINT16: Uint16Array.of(0, 65535, 7, 300),
  UINT32: Uint32Array.of(0, 4294967295, 7, 70000),
  UINT64: BigUint64Array.of(0n, 2n ** 64n - 1n, 2n ** 53n + 1n, 5n),
  INT8: Int8Array.of(-128, 127, 0, -1),
  INT16: Int16Array.of(-32768, 32767, 0, -1),
  INT32: Int32Array.of(-2147483648, 2147483647, 0, -1),
  INT64: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, -(2n ** 53n) - 1n, -42n),
  FP16: Uint16Array.from([1, -2, 0.5, 65504], numberToFloat16Bits),
  FP32: Float32Array.of(1.5, Math.fround(-0.1), 3.4e38, 0),
  FP64: Float64Array.of(Math.PI, -1e-300, 1.7976931348623157e308, 0.1),
  BYTES: ['a', 'héllo wörld', '', '{"quoted"}'],
  BF16: Uint16Array.from([1, -2, 0.5, 3.140625], numberToBfloat16Bits),
};

export function sampleTensor(datatype: Datatype, name = `t_${datatype.toLowerCase()}`): Tensor {
  const data = SAMPLE_DATA[datatype];
  return {
    name,
    datatype,
    shape: [2, 2],
    data: Array.isArray(data) ? ([...data] as string[] | Buffer[]) : (data as Uint8Array).slice(),
  };
}

/** Comparable form of tensor data (typed arrays and Buffers become plain arrays). */
export function plain(data: Tensor['data']): unknown[] {
  return Array.from(data as ArrayLike<unknown>, (element) =>
    Buffer.isBuffer(element) ? element.toString('utf8') : element,
  );
}

/** Builds a Triton binary-extension request body: JSON header, then the chunks in order. */
export function binaryRequestBody(
  header: unknown,
  chunks: Buffer[],
): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...chunks]), headerLength: json.length };
}

/**
 * Runs `run` with the global Array and typed array constructors wrapped and returns what it
 * threw and the largest length any of them was asked for: a decoder that allocates what a shape
 * claims, before checking the body carries it, shows here (the call itself may still fail).
 */
export function largestAllocation(run: () => unknown): { largest: number; error: unknown } {
  const names = ['Array', 'Float32Array', 'Float64Array', 'Uint8Array', 'BigInt64Array'] as const;
  const originals = names.map((name) => globalThis[name]);
  let largest = 0;
  const global = globalThis as unknown as Record<string, unknown>;
  names.forEach((name, index) => {
    global[name] = new Proxy(originals[index] as unknown as new (...args: unknown[]) => object, {
      construct(target, args, newTarget) {
        if (typeof args[0] === 'number') largest = Math.max(largest, args[0]);
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
  });
  let error: unknown;
  try {
    run();
  } catch (thrown) {
    error = thrown;
  } finally {
    names.forEach((name, index) => (global[name] = originals[index]));
  }
  return { largest, error };
}
