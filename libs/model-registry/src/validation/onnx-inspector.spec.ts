import {
  TensorDataType,
  buildExternalDataModel,
  buildGemmModel,
  buildMlpModel,
  buildModel,
  encodeModel,
  node,
  randomMlp,
  seededRandom,
  tensorProto,
  valueInfo,
} from '@maas/onnx';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectOnnxModel } from './onnx-inspector.js';
import { InvalidModelError } from './validation-errors.js';

/** A Gemm 4 → 3 model; only its signature matters here. */
const gemm = () =>
  buildGemmModel({ weights: Array.from({ length: 4 }, () => [0, 0, 0]), bias: [0, 0, 0] });

async function expectInvalid(bytes: Uint8Array, message: RegExp): Promise<void> {
  const failure = await inspectOnnxModel(bytes).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(InvalidModelError);
  expect(failure).toMatchObject({ code: 'INVALID_MODEL' });
  expect((failure as Error).message).toMatch(message);
}

describe('inspectOnnxModel', () => {
  it('reads the signature of a Gemm model, free dims as -1', async () => {
    expect(await inspectOnnxModel(gemm())).toEqual({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }],
      opsets: [{ domain: 'ai.onnx', version: 17 }],
    });
  });

  it('leaves out initializers that old exporters also list as inputs', async () => {
    const model = buildModel({
      graph: {
        nodes: [node('Add', ['x', 'offset'], ['y'])],
        initializers: [tensorProto('offset', TensorDataType.INT64, [2], [1, 2])],
        inputs: [
          valueInfo('x', TensorDataType.INT64, [5, 2]),
          valueInfo('offset', TensorDataType.INT64, [2]),
        ],
        outputs: [valueInfo('y', TensorDataType.INT64, [5, 2])],
      },
    });
    const signature = await inspectOnnxModel(encodeModel(model));
    expect(signature.inputs).toEqual([{ name: 'x', datatype: 'INT64', shape: [5, 2] }]);
    expect(signature.outputs).toEqual([{ name: 'y', datatype: 'INT64', shape: [5, 2] }]);
  });

  it('maps string and bool tensors to BYTES and BOOL', async () => {
    const model = buildModel({
      graph: {
        nodes: [node('Identity', ['s'], ['s_out']), node('Not', ['b'], ['b_out'])],
        inputs: [
          valueInfo('s', TensorDataType.STRING, ['n']),
          valueInfo('b', TensorDataType.BOOL, ['n']),
        ],
        outputs: [
          valueInfo('s_out', TensorDataType.STRING, ['n']),
          valueInfo('b_out', TensorDataType.BOOL, ['n']),
        ],
      },
    });
    const signature = await inspectOnnxModel(encodeModel(model));
    expect(signature.outputs.map((output) => output.datatype)).toEqual(['BYTES', 'BOOL']);
  });

  it('rejects random bytes with a readable message', async () => {
    const random = seededRandom(3);
    const garbage = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
    await expectInvalid(garbage, /^not a loadable ONNX model: .+/);
  });

  it('rejects a truncated model', async () => {
    const bytes = buildMlpModel({ layers: randomMlp([32, 16, 4], 1) });
    await expectInvalid(
      bytes.subarray(0, Math.floor(bytes.length / 2)),
      /^not a loadable ONNX model/,
    );
  });

  it('rejects an empty file and a CSV', async () => {
    await expectInvalid(new Uint8Array(0), /empty/);
    await expectInvalid(new TextEncoder().encode('a,b,c\n1,2,3\n'), /^not a loadable ONNX model/);
  });

  it('rejects a well-formed protobuf whose graph cannot run', async () => {
    const model = buildModel({
      graph: {
        nodes: [node('NoSuchOperator', ['x'], ['y'])],
        inputs: [valueInfo('x', TensorDataType.FLOAT, [1])],
        outputs: [valueInfo('y', TensorDataType.FLOAT, [1])],
      },
    });
    await expectInvalid(encodeModel(model), /NoSuchOperator/);
  });

  it('rejects models whose outputs are not tensors', async () => {
    const model = buildModel({
      graph: {
        nodes: [node('SequenceConstruct', ['x'], ['y'])],
        inputs: [valueInfo('x', TensorDataType.FLOAT, [2])],
        outputs: [
          {
            name: 'y',
            type: {
              sequenceType: {
                elemType: {
                  tensorType: { elemType: TensorDataType.FLOAT, shape: { dim: [{ dimValue: 2 }] } },
                },
              },
            },
          },
        ],
      },
    });
    await expectInvalid(
      encodeModel(model),
      /output 'y' is a sequence; only tensor inputs and outputs/,
    );
  });
});

describe('inspectOnnxModel on models that are not self-contained', () => {
  let directory: string;

  beforeAll(() => {
    // Under the working directory, where onnxruntime would resolve a relative location.
    mkdirSync(join(process.cwd(), 'tmp'), { recursive: true });
    directory = mkdtempSync(join(process.cwd(), 'tmp', 'inspector-spec-'));
    writeFileSync(join(directory, 'secret.bin'), 'SECRET-MARKER-01');
  });

  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('refuses external data before onnxruntime reads the file, naming the tensor only', async () => {
    const location = relative(process.cwd(), join(directory, 'secret.bin'));
    const failure = await inspectOnnxModel(buildExternalDataModel(location)).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure).toBeInstanceOf(InvalidModelError);
    expect(failure!.message).toBe(
      "initializer 'W' in graph 'main' stores its data outside the model (external data); models must be self-contained",
    );
    expect(failure!.message).not.toContain('secret');
  });

  it('refuses a node of a custom operator domain', async () => {
    const model = buildModel({
      graph: {
        nodes: [node('Exfiltrate', ['x'], ['y'], {}, 'evil.custom')],
        inputs: [valueInfo('x', TensorDataType.FLOAT, [1])],
        outputs: [valueInfo('y', TensorDataType.FLOAT, [1])],
      },
      opsets: { '': 17, 'evil.custom': 1 },
    });
    await expect(inspectOnnxModel(encodeModel(model))).rejects.toThrow(
      /uses operator domain 'evil.custom'/,
    );
  });
});
