import { encodeModel } from './onnx-codec.js';
import { buildModel, node, attribute, tensorProto, valueInfo } from './onnx-builders.js';
import { type OnnxNode, type OnnxTensor, TensorDataType } from './onnx-model.types.js';

export type MlpActivation = 'relu' | 'softmax' | 'none';

export interface MlpLayer {
  /** [in][out]: row i holds the weights leaving input unit i. */
  weights: number[][];
  /** [out] */
  bias: number[];
  activation: MlpActivation;
}

export interface MlpModelOptions {
  layers: MlpLayer[];
  inputName?: string;
  outputName?: string;
  producerName?: string;
}

export interface GemmModelOptions {
  weights: number[][];
  bias: number[];
  inputName?: string;
  outputName?: string;
  producerName?: string;
}

/** One dense layer: FP32 `input` [batch, in] → `output` [batch, out] = input·W + b. */
export function buildGemmModel(options: GemmModelOptions): Uint8Array {
  return buildMlpModel({
    layers: [{ weights: options.weights, bias: options.bias, activation: 'none' }],
    inputName: options.inputName,
    outputName: options.outputName,
    producerName: options.producerName,
  });
}

/** Dense layers as Gemm nodes, each followed by its activation (softmax over axis 1). */
export function buildMlpModel(options: MlpModelOptions): Uint8Array {
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const { layers } = options;
  if (layers.length === 0) throw new RangeError('an MLP needs at least one layer');

  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  let current = inputName;
  let width = layerShape(layers[0], 0).inputs;
  layers.forEach((layer, index) => {
    const { inputs, outputs } = layerShape(layer, index);
    if (inputs !== width) {
      throw new RangeError(`layer ${index} takes ${inputs} inputs but the previous gives ${width}`);
    }
    const isLast = index === layers.length - 1;
    const gemmOutput = isLast && layer.activation === 'none' ? outputName : `layer${index}_linear`;
    initializers.push(
      tensorProto(
        `layer${index}_weights`,
        TensorDataType.FLOAT,
        [inputs, outputs],
        layer.weights.flat(),
      ),
      tensorProto(`layer${index}_bias`, TensorDataType.FLOAT, [outputs], layer.bias),
    );
    nodes.push(
      node('Gemm', [current, `layer${index}_weights`, `layer${index}_bias`], [gemmOutput], {
        alpha: attribute.float(1),
        beta: attribute.float(1),
      }),
    );
    current = gemmOutput;
    if (layer.activation !== 'none') {
      const activationOutput = isLast ? outputName : `layer${index}_${layer.activation}`;
      nodes.push(
        layer.activation === 'relu'
          ? node('Relu', [current], [activationOutput])
          : node('Softmax', [current], [activationOutput], { axis: attribute.int(1) }),
      );
      current = activationOutput;
    }
    width = outputs;
  });

  const model = buildModel({
    graph: {
      name: 'mlp',
      nodes,
      initializers,
      inputs: [
        valueInfo(inputName, TensorDataType.FLOAT, ['batch', layerShape(layers[0], 0).inputs]),
      ],
      outputs: [valueInfo(outputName, TensorDataType.FLOAT, ['batch', width])],
    },
    producerName: options.producerName,
  });
  return encodeModel(model);
}

function layerShape(layer: MlpLayer, index: number): { inputs: number; outputs: number } {
  const inputs = layer.weights.length;
  const outputs = layer.bias.length;
  if (inputs === 0 || layer.weights.some((row) => row.length !== outputs)) {
    throw new RangeError(`layer ${index}: weights must be [in][out] with out = bias length`);
  }
  return { inputs, outputs };
}

/**
 * `out = x + W` over one FP32 vector whose initializer `W` holds `mib` MiB of `fill` bytes: a
 * model whose size (and validation memory) the caller picks; `fill` varies its sha256.
 */
export function buildLargeAddModel(mib: number, fill = 1): Uint8Array {
  const count = Math.floor((mib * 1024 * 1024) / 4);
  return encodeModel(
    buildModel({
      graph: {
        nodes: [node('Add', ['x', 'W'], ['out'])],
        initializers: [
          {
            name: 'W',
            dataType: TensorDataType.FLOAT,
            dims: [count],
            rawData: new Uint8Array(count * 4).fill(fill),
          },
        ],
        inputs: [valueInfo('x', TensorDataType.FLOAT, [count])],
        outputs: [valueInfo('out', TensorDataType.FLOAT, [count])],
      },
    }),
  );
}

/**
 * INT64 `size` [2] → a size[0] × size[1] matrix (every element 1e-3) multiplied by itself four
 * times, summed to FP32 `out` [1, 1]: a few bytes of model whose run costs what the request
 * asks ([3000, 3000] keeps a core busy for seconds; its warm-up, [0, 0], is instant).
 */
export function buildSlowMatMulModel(): Uint8Array {
  const nodes = [node('Expand', ['scale', 'size'], ['m0'])];
  for (let i = 1; i <= 4; i++) nodes.push(node('MatMul', [`m${i - 1}`, 'm0'], [`m${i}`]));
  nodes.push(node('ReduceSum', ['m4'], ['out']));
  return encodeModel(
    buildModel({
      graph: {
        nodes,
        initializers: [tensorProto('scale', TensorDataType.FLOAT, [1], [1e-3])],
        inputs: [valueInfo('size', TensorDataType.INT64, [2])],
        outputs: [valueInfo('out', TensorDataType.FLOAT, [1, 1])],
      },
    }),
  );
}

/**
 * A 4-float tensor whose 16 bytes onnxruntime would read from the file `location` (ONNX
 * external data): what a hostile model uses to read a server's files. The platform refuses
 * such models; tests build them with this.
 */
export function externalDataTensor(name: string, location: string): OnnxTensor {
  return {
    name,
    dataType: TensorDataType.FLOAT,
    dims: [4],
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '16' },
    ],
  };
}

/** `out = W`, with W's bytes in the file `location` (externalDataTensor): no input. */
export function buildExternalDataModel(location: string): Uint8Array {
  return encodeModel(
    buildModel({
      graph: {
        nodes: [node('Identity', ['W'], ['out'])],
        initializers: [externalDataTensor('W', location)],
        inputs: [],
        outputs: [valueInfo('out', TensorDataType.FLOAT, [4])],
      },
    }),
  );
}

/** mulberry32: tiny, fast and reproducible; good enough for test and benchmark weights. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random MLP layers for `sizes` such as [784, 256, 256, 10]: ReLU hidden layers, softmax
 * output, Glorot-uniform weights and small biases. Same seed, same layers.
 * Feed the result to {@link buildMlpModel}.
 */
export function randomMlp(sizes: readonly number[], seed: number): MlpLayer[] {
  if (sizes.length < 2)
    throw new RangeError('randomMlp needs at least an input and an output size');
  const random = seededRandom(seed);
  const layers: MlpLayer[] = [];
  for (let index = 0; index + 1 < sizes.length; index += 1) {
    const inputs = sizes[index];
    const outputs = sizes[index + 1];
    const limit = Math.sqrt(6 / (inputs + outputs));
    const weights = Array.from({ length: inputs }, () =>
      Array.from({ length: outputs }, () => (random() * 2 - 1) * limit),
    );
    const bias = Array.from({ length: outputs }, () => (random() * 2 - 1) * 0.1);
    const isLast = index + 2 === sizes.length;
    layers.push({ weights, bias, activation: isLast ? 'softmax' : 'relu' });
  }
  return layers;
}
