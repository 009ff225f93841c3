import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeModel } from './onnx-codec.js';
import { type MlpLayer, buildGemmModel, buildMlpModel, randomMlp } from './ready-made-models.js';

const sessions: ort.InferenceSession[] = [];

async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(Buffer.from(bytes));
  sessions.push(session);
  return session;
}

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.release()));
});

/** Reference forward pass in float64 over float32-rounded weights (what the model stores). */
function forward(layers: MlpLayer[], rows: number[][]): number[][] {
  return rows.map((row) => {
    let values = row;
    for (const layer of layers) {
      const next = layer.bias.map((bias, out) =>
        values.reduce(
          (sum, value, inp) => sum + value * Math.fround(layer.weights[inp][out]),
          Math.fround(bias),
        ),
      );
      if (layer.activation === 'relu') values = next.map((value) => Math.max(0, value));
      else if (layer.activation === 'softmax') {
        const max = Math.max(...next);
        const exps = next.map((value) => Math.exp(value - max));
        const total = exps.reduce((sum, value) => sum + value, 0);
        values = exps.map((value) => value / total);
      } else values = next;
    }
    return values;
  });
}

function toRows(data: Float32Array, width: number): number[][] {
  const rows: number[][] = [];
  for (let start = 0; start < data.length; start += width) {
    rows.push(Array.from(data.subarray(start, start + width)));
  }
  return rows;
}

describe('buildGemmModel', () => {
  const weights = [
    [0.5, -1.25, 2],
    [1.5, 0.75, -0.5],
    [-2, 0.25, 1],
    [0.1, 0.2, 0.3],
  ];
  const bias = [0.1, -0.2, 0.3];

  it('computes input·W + b for a batch of any size', async () => {
    const session = await createSession(buildGemmModel({ weights, bias }));
    const rows = [
      [1, 2, 3, 4],
      [-1, 0.5, 0, 2],
      [0, 0, 0, 0],
    ];
    const result = await session.run({
      input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [3, 4]),
    });

    expect(result.output.dims).toEqual([3, 3]);
    const expected = forward([{ weights, bias, activation: 'none' }], rows);
    toRows(result.output.data as Float32Array, 3).forEach((row, rowIndex) =>
      row.forEach((value, column) => expect(value).toBeCloseTo(expected[rowIndex][column], 5)),
    );
  });

  it('declares FP32 [batch, in] → [batch, out] with the chosen names', () => {
    const model = decodeModel(
      buildGemmModel({ weights, bias, inputName: 'features', outputName: 'scores' }),
    );
    expect(model.graph.input.map((input) => input.name)).toEqual(['features']);
    expect(model.graph.input[0].type?.tensorType).toEqual({
      elemType: 1,
      shape: { dim: [{ dimParam: 'batch' }, { dimValue: 4 }] },
    });
    expect(model.graph.output[0]).toMatchObject({
      name: 'scores',
      type: {
        tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }] } },
      },
    });
  });

  it('rejects weights that do not match the bias', () => {
    expect(() => buildGemmModel({ weights: [[1, 2]], bias: [1, 2, 3] })).toThrow(RangeError);
  });
});

describe('buildMlpModel', () => {
  it('runs a 784-256-256-10 MLP whose softmax rows sum to 1 and match the math', async () => {
    const layers = randomMlp([784, 256, 256, 10], 7);
    const session = await createSession(buildMlpModel({ layers }));
    const rows = Array.from({ length: 4 }, (_, row) =>
      Array.from({ length: 784 }, (_, column) => ((row * 31 + column * 17) % 255) / 255),
    );
    const result = await session.run({
      input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [4, 784]),
    });

    expect(result.output.dims).toEqual([4, 10]);
    const outputs = toRows(result.output.data as Float32Array, 10);
    const expected = forward(layers, rows);
    for (const [rowIndex, row] of outputs.entries()) {
      expect(row.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 5);
      row.forEach((value, column) => expect(value).toBeCloseTo(expected[rowIndex][column], 5));
    }
  });

  it('supports relu output layers and custom names', async () => {
    const layers: MlpLayer[] = [
      { weights: [[1, -1]], bias: [0, 0], activation: 'relu' },
      { weights: [[2], [3]], bias: [1], activation: 'relu' },
    ];
    const session = await createSession(buildMlpModel({ layers, inputName: 'x', outputName: 'y' }));
    const result = await session.run({
      x: new ort.Tensor('float32', Float32Array.from([2, -2]), [2, 1]),
    });
    // x=2: relu([2,-2])=[2,0] → 2*2+1=5; x=-2: relu([-2,2])=[0,2] → 3*2+1=7
    expect(Array.from(result.y.data as Float32Array)).toEqual([5, 7]);
  });

  it('rejects layers whose sizes do not chain', () => {
    const layers: MlpLayer[] = [
      { weights: [[1, 1]], bias: [0, 0], activation: 'relu' },
      { weights: [[1], [1], [1]], bias: [0], activation: 'none' },
    ];
    expect(() => buildMlpModel({ layers })).toThrow(/layer 1 takes 3 inputs/);
  });
});

describe('randomMlp', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const first = randomMlp([5, 4, 3], 42);
    expect(randomMlp([5, 4, 3], 42)).toEqual(first);
    expect(randomMlp([5, 4, 3], 43)[0].weights).not.toEqual(first[0].weights);
    expect(
      first.map((layer) => [layer.weights.length, layer.bias.length, layer.activation]),
    ).toEqual([
      [5, 4, 'relu'],
      [4, 3, 'softmax'],
    ]);
  });
});
