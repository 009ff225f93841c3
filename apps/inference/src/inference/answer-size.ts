import { DomainError } from '@maas/app-runtime';
import { elementByteSize, PackedBytes, type Tensor } from '@maas/tensors';

/**
 * The fewest bytes an answer carrying `outputs` can take, whatever its encoding makes of them:
 * a binary output its raw bytes (BYTES: a 4-byte length per element and its bytes), a JSON one
 * two characters per number (a digit and a comma) and three per string past its length (quotes
 * and a comma). It formats nothing and is never above the real size, so an answer it already
 * finds too large is refused before the worker spends memory and CPU encoding it, and none that
 * would fit is refused.
 */
export function answerBytesAtLeast(
  outputs: readonly Tensor[],
  isBinary: (name: string) => boolean,
): number {
  let total = 0;
  for (const output of outputs) {
    const binary = isBinary(output.name);
    const count = output.data.length;
    const size = elementByteSize(output.datatype);
    if (size !== null) {
      total += binary ? count * size : Math.max(0, 2 * count - 1);
      continue;
    }
    // BYTES: a string's UTF-16 length never exceeds its UTF-8 byte length.
    let bytes = 0;
    if (output.data instanceof PackedBytes) bytes = output.data.bytes.byteLength;
    else for (const element of output.data as (string | Buffer)[]) bytes += element.length;
    total += bytes + count * (binary ? 4 : 3);
  }
  return total;
}

/**
 * Bytes of JSON a float is taken to format to when deciding where an answer is encoded: a float32
 * widened to a double is written with up to 17 significant digits (0.1f is
 * `0.10000000149011612`), an integral value in one or two. Formatting them is most of what
 * writing a JSON answer costs (100,000 floats: 10-20 ms).
 */
export const JSON_FLOAT_BYTES = 16;

const FLOAT_DATATYPES = new Set(['FP16', 'BF16', 'FP32', 'FP64']);

/**
 * The bytes of text an answer's JSON part is expected to take, the measure of what encoding it
 * costs (where answerBytesAtLeast is a bound on its size): floats at JSON_FLOAT_BYTES each, the
 * rest at their least (integers and booleans format fast; strings are copied). Binary outputs
 * count nothing: they are copied, not formatted.
 */
export function answerJsonBytesExpected(
  outputs: readonly Tensor[],
  isBinary: (name: string) => boolean,
): number {
  let total = 0;
  for (const output of outputs) {
    if (isBinary(output.name)) continue;
    total += FLOAT_DATATYPES.has(output.datatype)
      ? output.data.length * JSON_FLOAT_BYTES
      : answerBytesAtLeast([output], () => false);
  }
  return total;
}

/**
 * A model's answer past the limit. 422, not a 5xx: the platform is fine and a retry gets the
 * same; the tenant's own model (or what the request asked of it) produced the answer, so it is
 * theirs to fix, like any request the server understood but will not process as asked. Not 413
 * either, which names the request's body. It fails that one request only; the link and every
 * other request on it carry on.
 */
export class AnswerTooLargeError extends DomainError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      'INVALID_MODEL',
      `the model's answer (at least ${bytes} bytes) is larger than ${limit} bytes, the most one answer may take; ask for fewer rows or outputs`,
    );
    this.name = 'AnswerTooLargeError';
  }
}
