import {
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  AttributeType,
  TensorDataType,
  attribute,
  buildGemmModel,
  buildMlpModel,
  buildModel,
  encodeModel,
  node,
  randomMlp,
  tensorProto,
  valueInfo,
} from '@maas/onnx';
import { describe, expect, it, vi } from 'vitest';
import { assertSelfContainedOnnx } from './onnx-sandbox-check.js';
import { InvalidModelError } from './validation-errors.js';

const LOCATION = '.data/dev.env';
const SELF_CONTAINED =
  'stores its data outside the model (external data); models must be self-contained';

/** A 4-float tensor whose data would come from LOCATION. */
function externalTensor(name: string, options: { location?: boolean; entries?: boolean } = {}) {
  const tensor: OnnxTensor = { name, dataType: TensorDataType.FLOAT, dims: [4] };
  if (options.location !== false) tensor.dataLocation = 1;
  if (options.entries !== false) {
    tensor.externalData = [
      { key: 'location', value: LOCATION },
      { key: 'offset', value: '0' },
      { key: 'length', value: '16' },
    ];
  }
  return tensor;
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 0x80)) bytes.push((value & 0x7f) | 0x80);
  return [...bytes, value];
}

/** A length-delimited field, encoded by hand. */
const wireField = (number: number, payload: Uint8Array | number[]) =>
  new Uint8Array([(number << 3) | 2, ...varint(payload.length), ...payload]);

const plainTensor = (name: string) => tensorProto(name, TensorDataType.FLOAT, [4], [1, 2, 3, 4]);

function graph(name: string, nodes: OnnxNode[], initializers: OnnxTensor[] = []): OnnxGraph {
  return {
    name,
    node: nodes,
    initializer: initializers,
    input: [],
    output: [valueInfo('out', TensorDataType.FLOAT, [4])],
  };
}

function model(main: OnnxGraph, extra: Partial<OnnxModel> = {}): Uint8Array {
  return encodeModel({
    ...buildModel({ graph: { nodes: [], inputs: [], outputs: [] } }),
    graph: main,
    ...extra,
  });
}

/** The InvalidModelError the check throws (fails the test when it throws nothing). */
function refusal(bytes: Uint8Array): InvalidModelError {
  try {
    assertSelfContainedOnnx(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidModelError);
    expect(error).toMatchObject({ code: 'INVALID_MODEL' });
    // Never the location, nor anything that could come from the file it names.
    expect((error as Error).message).not.toContain('dev.env');
    return error as InvalidModelError;
  }
  throw new Error('the model was accepted');
}

const constantOf = (tensor: OnnxTensor, name = 'c') => ({
  ...node('Constant', [], ['out'], { value: attribute.tensor(tensor) }),
  name,
});

const ifNode = (name: string, thenBranch: OnnxGraph, elseBranch: OnnxGraph): OnnxNode => ({
  ...node('If', ['cond'], ['out'], {
    then_branch: attribute.graph(thenBranch),
    else_branch: attribute.graph(elseBranch),
  }),
  name,
});

describe('assertSelfContainedOnnx', () => {
  it('knows the whole schema in a fresh process, before anything encoded or decoded a model', async () => {
    // A worker checks stored bytes before anything else touched the ONNX schema: the walk
    // must not depend on protobufjs having resolved nested types lazily for an earlier call.
    vi.resetModules();
    const fresh = await import('./onnx-sandbox-check.js');
    const tensor = [...wireField(8, new TextEncoder().encode('W')), 0x70, 0x01]; // data_location 1
    const bytes = wireField(7, wireField(5, tensor)); // ModelProto.graph.initializer
    expect(() => fresh.assertSelfContainedOnnx(bytes)).toThrow(
      `initializer 'W' in graph '' ${SELF_CONTAINED}`,
    );
  });

  it('accepts self-contained models', () => {
    const mlp = buildMlpModel({ layers: randomMlp([4, 8, 3], 1) });
    expect(() => assertSelfContainedOnnx(mlp)).not.toThrow();
    const gemm = buildGemmModel({ weights: [[1, 0]], bias: [0, 0] });
    expect(() => assertSelfContainedOnnx(gemm)).not.toThrow();
    const branches = model(
      graph('main', [
        ifNode('if1', graph('then', [constantOf(plainTensor('a'))]), graph('else', [])),
      ]),
      {
        opsetImport: [
          { domain: '', version: 17 },
          { domain: 'ai.onnx.ml', version: 3 },
          { domain: 'com.microsoft', version: 1 },
          { domain: 'ai.onnx', version: 17 },
        ],
      },
    );
    expect(() => assertSelfContainedOnnx(branches)).not.toThrow();
  });

  it('refuses an external initializer, naming it and its graph', () => {
    const error = refusal(model(graph('main', [], [externalTensor('W')])));
    expect(error.message).toBe(`initializer 'W' in graph 'main' ${SELF_CONTAINED}`);
  });

  it('refuses data_location = EXTERNAL alone, and external_data entries alone', () => {
    expect(
      refusal(model(graph('main', [], [externalTensor('W', { entries: false })]))).message,
    ).toBe(`initializer 'W' in graph 'main' ${SELF_CONTAINED}`);
    expect(
      refusal(model(graph('main', [], [externalTensor('W', { location: false })]))).message,
    ).toBe(`initializer 'W' in graph 'main' ${SELF_CONTAINED}`);
  });

  it('refuses external values or indices of a sparse initializer', () => {
    const values = model({
      ...graph('main', []),
      sparseInitializer: [{ dims: [8], values: externalTensor('S'), indices: plainTensor('') }],
    });
    expect(refusal(values).message).toBe(
      `the values of sparse initializer 'S' in graph 'main' ${SELF_CONTAINED}`,
    );
    const indices = model({
      ...graph('main', []),
      sparseInitializer: [{ dims: [8], values: plainTensor('S'), indices: externalTensor('') }],
    });
    expect(refusal(indices).message).toBe(
      `the indices of sparse initializer 'S' in graph 'main' ${SELF_CONTAINED}`,
    );
  });

  it('refuses external tensors in node attributes: t, tensors, sparse_tensor, sparse_tensors', () => {
    expect(refusal(model(graph('main', [constantOf(externalTensor('k'))]))).message).toBe(
      `attribute 'value' of node 'c' (Constant) in graph 'main' ${SELF_CONTAINED}`,
    );
    const lists: [string, Omit<OnnxAttribute, 'name'>, string][] = [
      [
        'tensors',
        { type: AttributeType.TENSORS, tensors: [plainTensor('a'), externalTensor('b')] },
        '',
      ],
      [
        'sparse_tensor',
        {
          type: AttributeType.SPARSE_TENSOR,
          sparseTensor: { dims: [4], values: externalTensor('v') },
        },
        'the values of ',
      ],
      [
        'sparse_tensors',
        {
          type: AttributeType.SPARSE_TENSORS,
          sparseTensors: [{ dims: [4], indices: externalTensor('i') }],
        },
        'the indices of ',
      ],
    ];
    for (const [name, value, part] of lists) {
      const holder: OnnxNode = {
        input: [],
        output: ['out'],
        opType: 'Holder',
        attribute: [{ name, ...value }],
      };
      expect(refusal(model(graph('main', [holder]))).message).toBe(
        `${part}attribute '${name}' of node #0 (Holder) in graph 'main' ${SELF_CONTAINED}`,
      );
    }
  });

  it('refuses external tensors inside If branches and Loop bodies, however deep', () => {
    const inThen = model(
      graph('main', [
        ifNode('if1', graph('then', [constantOf(externalTensor('k'))]), graph('else', [])),
      ]),
    );
    expect(refusal(inThen).message).toBe(
      `attribute 'value' of node 'c' (Constant) in graph 'then' (attribute 'then_branch' of node 'if1' (If) in graph 'main') ${SELF_CONTAINED}`,
    );
    const loop = (body: OnnxGraph): OnnxNode => ({
      input: ['n', 'cond'],
      output: ['out'],
      opType: 'Loop',
      name: 'loop',
      attribute: [{ name: 'body', type: AttributeType.GRAPHS, graphs: [body] }],
    });
    const deep = model(
      graph('main', [
        loop(graph('body', [ifNode('if2', graph('t', []), graph('e', [], [externalTensor('W')]))])),
      ]),
    );
    expect(refusal(deep).message).toMatch(
      /^initializer 'W' in graph 'e' \(attribute 'else_branch'/,
    );
  });

  it('refuses external tensors in model-local functions: nodes and attribute defaults', () => {
    const fn = (body: Partial<NonNullable<OnnxModel['functions']>[number]>) =>
      model(graph('main', []), {
        functions: [
          { name: 'f', domain: 'com.microsoft', input: [], output: ['y'], node: [], ...body },
        ],
      });
    expect(refusal(fn({ node: [constantOf(externalTensor('k'), 'inner')] })).message).toBe(
      `attribute 'value' of node 'inner' (Constant) in function 'f' ${SELF_CONTAINED}`,
    );
    expect(
      refusal(fn({ attributeProto: [{ name: 'table', ...attribute.tensor(externalTensor('t')) }] }))
        .message,
    ).toBe(`attribute 'table' of function 'f' ${SELF_CONTAINED}`);
  });

  it('refuses external tensors in training_info graphs', () => {
    const training = model(graph('main', []), {
      trainingInfo: [
        { algorithm: graph('step', []) },
        { initialization: graph('init', [], [externalTensor('W')]) },
      ],
    });
    expect(refusal(training).message).toBe(
      `initializer 'W' in graph 'init' (training_info[1].initialization) ${SELF_CONTAINED}`,
    );
  });

  it('sees an external tensor split across repeated occurrences of one field', () => {
    // protobuf merges repeated occurrences of a message field: onnxruntime would read the first
    // graph's initializer even though the last graph looks clean.
    const hostile = model(graph('a', [], [externalTensor('W')]));
    const clean = model(graph('b', [constantOf(plainTensor('k'))]));
    const merged = new Uint8Array([...hostile, ...clean]);
    expect(refusal(merged).message).toBe(`initializer 'W' in graph 'a' ${SELF_CONTAINED}`);
  });

  it('refuses operator domains onnxruntime does not ship: nodes, subgraphs, functions, imports', () => {
    const evil = { ...node('Steal', [], ['out'], {}, 'evil.custom'), name: 'x' };
    expect(refusal(model(graph('main', [evil]))).message).toBe(
      "node 'x' (Steal) in graph 'main' uses operator domain 'evil.custom'; only the ai.onnx, ai.onnx.ml and com.microsoft operator sets (what onnxruntime ships) can run here",
    );
    expect(
      refusal(model(graph('main', [ifNode('if1', graph('then', [evil]), graph('else', []))])))
        .message,
    ).toMatch(
      /^node 'x' \(Steal\) in graph 'then' \(attribute 'then_branch'.* uses operator domain 'evil.custom'/,
    );
    expect(
      refusal(
        model(graph('main', []), {
          functions: [{ name: 'f', domain: 'com.microsoft', input: [], output: [], node: [evil] }],
        }),
      ).message,
    ).toMatch(/^node 'x' \(Steal\) in function 'f' uses operator domain 'evil.custom'/);
    expect(
      refusal(
        model(graph('main', []), {
          functions: [{ name: 'f', domain: 'evil.fn', input: [], output: [], node: [] }],
        }),
      ).message,
    ).toMatch(/^function 'f' is defined in operator domain 'evil.fn'/);
    expect(
      refusal(
        model(graph('main', []), {
          functions: [
            {
              name: 'f',
              input: [],
              output: [],
              node: [],
              opsetImport: [{ domain: 'evil.ops', version: 1 }],
            },
          ],
        }),
      ).message,
    ).toMatch(/^function 'f' imports operator set 'evil.ops'/);
    expect(
      refusal(
        model(graph('main', []), {
          opsetImport: [
            { domain: '', version: 17 },
            { domain: 'evil.custom', version: 1 },
          ],
        }),
      ).message,
    ).toMatch(/^the model imports operator set 'evil.custom'/);
  });

  it('refuses execution-provider context nodes, which point at precompiled files', () => {
    const context = { ...node('EPContext', [], ['out'], {}, 'com.microsoft'), name: 'ctx' };
    expect(refusal(model(graph('main', [context]))).message).toMatch(
      /^node 'ctx' \(EPContext\) in graph 'main' is an execution-provider context node/,
    );
  });

  it('refuses ORT-format, malformed, truncated and absurdly nested bytes', () => {
    const ort = new Uint8Array(64);
    ort.set([0x4f, 0x52, 0x54, 0x4d], 4);
    expect(refusal(ort).message).toMatch(/ORT-format model/);
    expect(refusal(Uint8Array.from([0xff, 0xff, 0xff])).message).toMatch(/malformed protobuf/);
    const whole = model(graph('main', [], [plainTensor('W')]));
    expect(refusal(whole.subarray(0, whole.length - 3)).message).toMatch(/malformed protobuf/);
    expect(refusal(Uint8Array.from([0x0f])).message).toMatch(/malformed protobuf/); // wire type 7

    // Graph > node > attribute > graph ... by hand: protobufjs refuses to encode that deep.
    const field = wireField;
    const nest = (levels: number) => {
      let graphBytes = new Uint8Array(0);
      for (let level = 0; level < levels; level++) {
        graphBytes = field(1, field(5, field(6, graphBytes))); // node { attribute { g } }
      }
      return field(7, graphBytes); // ModelProto.graph
    };
    expect(() => assertSelfContainedOnnx(nest(30))).not.toThrow();
    expect(refusal(nest(40)).message).toMatch(/more than 100 levels deep/);
  });

  it('keeps model-supplied names printable and short in its messages', () => {
    const message = refusal(
      model(graph('main', [], [externalTensor(`a\nb${'x'.repeat(500)}`)])),
    ).message;
    expect(message).toMatch(/^initializer 'a\?bx{77}…' in graph 'main'/);
  });
});
