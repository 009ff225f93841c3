import * as ort from 'onnxruntime-node';
import { afterEach } from 'vitest';

/** onnxruntime sessions released after each test of the spec that calls this. */
export function useSessions(): (bytes: Uint8Array) => Promise<ort.InferenceSession> {
  const sessions: ort.InferenceSession[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((session) => session.release()));
  });
  return async (bytes) => {
    const session = await ort.InferenceSession.create(Buffer.from(bytes));
    sessions.push(session);
    return session;
  };
}

/** Runs a model whose one input is `input` [rows, width] and returns `output`'s values. */
export async function runRows(
  session: ort.InferenceSession,
  rows: Float32Array,
  width: number,
): Promise<Float32Array> {
  const result = await session.run({
    input: new ort.Tensor('float32', rows, [rows.length / width, width]),
  });
  return result.output.data as Float32Array;
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  return a.reduce((max, value, index) => Math.max(max, Math.abs(value - b[index])), 0);
}
