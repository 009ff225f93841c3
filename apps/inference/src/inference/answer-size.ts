import { DomainError } from '@maas/app-runtime';
import { type Datatype, elementByteSize, PackedBytes, type Tensor } from '@maas/tensors';

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
 * Bytes of JSON one element is taken to write when deciding where an answer is encoded, by
 * datatype: what formatting it costs, at ~6-9 ns a byte written whatever the type (measured,
 * 100,000 elements, Node 20: a float 182 ns and ~19.6 bytes, a float32 widened to a double being
 * written with up to 17 significant digits, 0.1f as `0.10000000149011612`; an INT32 or INT64 of
 * 7-9 digits 64-78 ns and ~10 bytes; a boolean 34 ns and 5.5 bytes). BYTES are counted at their
 * least (copied, not formatted).
 */
export const JSON_ELEMENT_BYTES: Readonly<Partial<Record<Datatype, number>>> = {
  FP16: 16,
  BF16: 16,
  FP32: 16,
  FP64: 16,
  INT64: 8,
  UINT64: 8,
  INT32: 8,
  UINT32: 8,
  INT16: 5,
  UINT16: 5,
  INT8: 3,
  UINT8: 3,
  BOOL: 5,
};

/**
 * The bytes of text an answer's JSON part is expected to take, the measure of what encoding it
 * costs (where answerBytesAtLeast bounds its size: 100,000 floats are 200 KB at least and ~1.9
 * MB written, 18 ms of formatting): each element at JSON_ELEMENT_BYTES, strings at their least.
 * Binary outputs count nothing: they are copied, not formatted.
 */
export function answerJsonBytesExpected(
  outputs: readonly Tensor[],
  isBinary: (name: string) => boolean,
): number {
  let total = 0;
  for (const output of outputs) {
    if (isBinary(output.name)) continue;
    const perElement = JSON_ELEMENT_BYTES[output.datatype];
    total +=
      perElement === undefined
        ? answerBytesAtLeast([output], () => false)
        : output.data.length * perElement;
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
