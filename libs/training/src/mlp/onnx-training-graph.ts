import {
  attribute,
  buildModel,
  encodeModel,
  node,
  type OnnxGraph,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  TensorDataType,
  tensorProto,
  valueInfo,
} from '@maas/onnx';
import { ACTIVATION_OPS } from '../export/onnx-export.js';
import type { MlpActivationName } from '../job-spec/job-spec.js';

export type DenseOptimizerName = 'adam' | 'sgd' | 'rmsprop' | 'adagrad';

/** The network and training step the graphs compute; the same math as the TF.js trainer. */
export interface DenseTrainingNet {
  /** Layer widths, input first: [inputs, ...hidden, outputs]. */
  sizes: number[];
  activation: MlpActivationName;
  dropout: number;
  /** Softmax + categorical cross-entropy; else a linear output and mean squared error. */
  classification: boolean;
  optimizer: DenseOptimizerName;
  learningRate: number;
  seed: number;
}

/** TF.js's defaults: tf.train.adam/rmsprop/adagrad with the float32 backend's epsilon. */
export const OPTIMIZER_CONSTANTS = {
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  rmspropDecay: 0.9,
  adagradInitialAccumulator: 0.1,
  epsilon: 1e-7,
} as const;

/**
 * Optimizer state besides the weights, and its initial value. Adam keeps its moments scaled:
 * m̃ = m/(1 − β1), ṽ = v/(1 − β2), so each update is two fewer passes over the weights.
 */
export const OPTIMIZER_SLOTS: Record<DenseOptimizerName, { name: string; initial: number }[]> = {
  adam: [
    { name: 'm', initial: 0 },
    { name: 'v', initial: 0 },
  ],
  rmsprop: [{ name: 'ms', initial: 0 }],
  adagrad: [{ name: 'accum', initial: OPTIMIZER_CONSTANTS.adagradInitialAccumulator }],
  sgd: [],
};

/**
 * Per-step scalar inputs of the training scan: Adam's bias corrections change every step, so
 * they come in as [steps] vectors (see {@link adamStepScalars}).
 */
export const STEP_SCALARS: Record<DenseOptimizerName, string[]> = {
  adam: ['adam_rate', 'adam_epsilon'],
  sgd: [],
  rmsprop: [],
  adagrad: [],
};

/**
 * TF.js Adam: m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g²,
 * w −= lr · (m/(1 − β1ᵗ)) / (√(v/(1 − β2ᵗ)) + ε). With the scaled moments m̃ = β1·m̃ + g and
 * ṽ = β2·ṽ + g² that is w −= rate · m̃ / (√ṽ + ε'), where q = √((1 − β2)/(1 − β2ᵗ)),
 * rate = lr·(1 − β1)/((1 − β1ᵗ)·q) and ε' = ε/q. t counts from 1.
 */
export function adamStepScalars(learningRate: number, t: number): [number, number] {
  const { adamBeta1, adamBeta2, epsilon } = OPTIMIZER_CONSTANTS;
  const q = Math.sqrt((1 - adamBeta2) / (1 - adamBeta2 ** t));
  return [(learningRate * (1 - adamBeta1)) / ((1 - adamBeta1 ** t) * q), epsilon / q];
}

/** Parameter shapes in state order: kernel [in, out], bias [out] per layer. */
export function parameterShapes(sizes: readonly number[]): number[][] {
  return sizes.slice(1).flatMap((units, l) => [[sizes[l], units], [units]]);
}

/** How many weights and biases the network has: the length of the flat state vectors. */
export function parameterCount(sizes: readonly number[]): number {
  return parameterShapes(sizes).reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The state the training loop carries: every kernel and bias back to back in one flat
 * vector (`weights`, state order of {@link parameterShapes}) and one such vector per
 * optimizer slot (`weights_m`, …), so the optimizer update is a few element-wise ops over
 * one long vector rather than the same ops per tensor.
 */
export function stateNames(net: DenseTrainingNet): string[] {
  return ['weights', ...OPTIMIZER_SLOTS[net.optimizer].map((slot) => `weights_${slot.name}`)];
}

const FLOAT = TensorDataType.FLOAT;

/** Collects nodes and initializers, naming intermediate values. */
class GraphWriter {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private count = 0;

  /** A fresh value name. */
  name(hint: string): string {
    this.count += 1;
    return `${hint}_${this.count}`;
  }

  constant(value: number, hint = 'c'): string {
    const name = this.name(hint);
    this.initializers.push(tensorProto(name, FLOAT, [], [value]));
    return name;
  }

  ints(values: number[], hint = 'i', type: TensorDataType = TensorDataType.INT64): string {
    const name = this.name(hint);
    this.initializers.push(tensorProto(name, type, [values.length], values));
    return name;
  }

  op(
    opType: string,
    inputs: string[],
    attributes: Parameters<typeof node>[3] = {},
    output = this.name(opType.toLowerCase()),
  ): string {
    this.nodes.push(node(opType, inputs, [output], attributes));
    return output;
  }
}

// tf.selu's constants (ONNX Selu's defaults are these rounded to float32).
const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

function activate(g: GraphWriter, activation: MlpActivationName, z: string): string {
  if (activation === 'linear') return z;
  if (activation === 'selu') {
    return g.op('Selu', [z], {
      alpha: attribute.float(SELU_ALPHA),
      gamma: attribute.float(SELU_SCALE),
    });
  }
  return g.op(ACTIVATION_OPS[activation], [z]);
}

/** d(loss)/dz from d(loss)/da, where a = activation(z). */
function activationBackward(
  g: GraphWriter,
  activation: MlpActivationName,
  z: string,
  a: string,
  upstream: string,
): string {
  switch (activation) {
    // Written in terms of a where possible (a > 0 ⇔ z > 0 for relu, elu and selu): with z used
    // by the activation only, ORT fuses the activation into the layer's Gemm.
    case 'relu':
      return g.op('Where', [g.op('Greater', [a, g.constant(0)]), upstream, g.constant(0)]);
    case 'tanh':
      // (1 − a²)
      return g.op('Mul', [upstream, g.op('Sub', [g.constant(1), g.op('Mul', [a, a])])]);
    case 'sigmoid':
      return g.op('Mul', [upstream, g.op('Mul', [a, g.op('Sub', [g.constant(1), a])])]);
    case 'elu':
      // z > 0: 1, else eᶻ = a + 1 (α = 1)
      return g.op('Where', [
        g.op('Greater', [a, g.constant(0)]),
        upstream,
        g.op('Mul', [upstream, g.op('Add', [a, g.constant(1)])]),
      ]);
    case 'selu':
      // z > 0: scale, else scale·α·eᶻ = a + scale·α
      return g.op('Where', [
        g.op('Greater', [a, g.constant(0)]),
        g.op('Mul', [upstream, g.constant(SELU_SCALE)]),
        g.op('Mul', [upstream, g.op('Add', [a, g.constant(SELU_SCALE * SELU_ALPHA)])]),
      ]);
    case 'softplus':
      return g.op('Mul', [upstream, g.op('Sigmoid', [z])]);
    default:
      return upstream;
  }
}

/** The flat weight vector as kernels [in, out] and biases [out], in state order. */
function unpackWeights(g: GraphWriter, net: DenseTrainingNet, weights: string): string[] {
  const shapes = parameterShapes(net.sizes);
  const pieces = shapes.map(() => g.name('piece'));
  g.nodes.push(
    node(
      'Split',
      [weights, g.ints(shapes.map((shape) => shape.reduce((a, b) => a * b, 1)))],
      pieces,
      {
        axis: attribute.int(0),
      },
    ),
  );
  return pieces.map((piece, i) =>
    shapes[i].length === 1 ? piece : g.op('Reshape', [piece, g.ints(shapes[i])]),
  );
}

/** Gradients in state order as one flat vector. */
function packGradients(g: GraphWriter, gradients: string[]): string {
  const flat = g.ints([-1]);
  return g.op(
    'Concat',
    gradients.map((gradient, i) => (i % 2 === 0 ? g.op('Reshape', [gradient, flat]) : gradient)),
    { axis: attribute.int(0) },
  );
}

interface ForwardPass {
  /** Input of each Dense layer (the batch, then dropped-out activations). */
  inputs: string[];
  /** Pre-activation of each layer. */
  zs: string[];
  /** Activation of each hidden layer, before dropout. */
  activations: string[];
  /** Per hidden layer: the dropout mask scaled by 1/(1 − rate), when dropout is on. */
  dropoutScales: (string | null)[];
  /** Last layer's pre-activation (logits or the regression output). */
  output: string;
}

function forward(
  g: GraphWriter,
  net: DenseTrainingNet,
  x: string,
  params: string[],
  training: boolean,
): ForwardPass {
  const layers = net.sizes.length - 1;
  const pass: ForwardPass = { inputs: [], zs: [], activations: [], dropoutScales: [], output: '' };
  let current = x;
  for (let l = 0; l < layers; l += 1) {
    pass.inputs.push(current);
    const z = g.op('Gemm', [current, params[2 * l], params[2 * l + 1]]);
    pass.zs.push(z);
    if (l === layers - 1) {
      pass.output = z;
      break;
    }
    const a = activate(g, net.activation, z);
    pass.activations.push(a);
    current = a;
    if (training && net.dropout > 0) {
      // Inverted dropout, as tf.layers.dropout: kept units scaled by 1/(1 − rate).
      const dropped = g.name('dropped');
      const mask = g.name('mask');
      const trainingMode = g.name('training_mode');
      g.initializers.push(tensorProto(trainingMode, TensorDataType.BOOL, [], [true]));
      g.nodes.push(
        node('Dropout', [a, g.constant(net.dropout), trainingMode], [dropped, mask], {
          seed: attribute.int(net.seed + l),
        }),
      );
      pass.dropoutScales.push(
        g.op('Where', [mask, g.constant(1 / (1 - net.dropout)), g.constant(0)]),
      );
      current = dropped;
    } else {
      pass.dropoutScales.push(null);
    }
  }
  return pass;
}

/** Mean loss over the batch (times invSize = 1/rows) and, for classifiers, correct rows. */
function lossAndHits(
  g: GraphWriter,
  net: DenseTrainingNet,
  output: string,
  probabilities: string | null,
  y: string,
  invSize: string,
): { loss: string; hits: string | null } {
  if (net.classification) {
    // tf.losses categoricalCrossentropy: −Σ y·log(clip(p, ε, 1 − ε)), mean over rows.
    const clipped = g.op('Clip', [
      probabilities!,
      g.constant(OPTIMIZER_CONSTANTS.epsilon),
      g.constant(1 - OPTIMIZER_CONSTANTS.epsilon),
    ]);
    const total = g.op('ReduceSum', [g.op('Mul', [y, g.op('Log', [clipped])])], {
      keepdims: attribute.int(0),
    });
    const loss = g.op('Mul', [g.op('Neg', [total]), invSize]);
    const predicted = g.op('ArgMax', [output], {
      axis: attribute.int(1),
      keepdims: attribute.int(0),
    });
    const actual = g.op('ArgMax', [y], { axis: attribute.int(1), keepdims: attribute.int(0) });
    const hits = g.op(
      'ReduceSum',
      [g.op('Cast', [g.op('Equal', [predicted, actual])], { to: attribute.int(FLOAT) })],
      { keepdims: attribute.int(0) },
    );
    return { loss, hits };
  }
  const outputs = net.sizes[net.sizes.length - 1];
  const diff = g.op('Sub', [output, y]);
  const total = g.op('ReduceSum', [g.op('Mul', [diff, diff])], { keepdims: attribute.int(0) });
  return {
    loss: g.op('Mul', [total, g.op('Mul', [invSize, g.constant(1 / outputs)])]),
    hits: null,
  };
}

/** Gradients of the mean loss for every parameter, in state order. */
function backward(
  g: GraphWriter,
  net: DenseTrainingNet,
  pass: ForwardPass,
  probabilities: string | null,
  y: string,
  invSize: string,
  params: string[],
): string[] {
  const layers = net.sizes.length - 1;
  const outputs = net.sizes[layers];
  // d(loss)/d(z_last): softmax + cross-entropy gives (p − y)/n, linear + MSE 2(ŷ − y)/(n·k).
  let delta = net.classification
    ? g.op('Mul', [g.op('Sub', [probabilities!, y]), invSize])
    : g.op('Mul', [g.op('Sub', [pass.output, y]), g.op('Mul', [invSize, g.constant(2 / outputs)])]);
  const gradients: string[] = new Array<string>(2 * layers);
  const axis0 = g.ints([0], 'axis0');
  for (let l = layers - 1; l >= 0; l -= 1) {
    gradients[2 * l] = g.op('Gemm', [pass.inputs[l], delta], { transA: attribute.int(1) });
    gradients[2 * l + 1] = g.op('ReduceSum', [delta, axis0], { keepdims: attribute.int(0) });
    if (l > 0) {
      let upstream = g.op('Gemm', [delta, params[2 * l]], { transB: attribute.int(1) });
      const scale = pass.dropoutScales[l - 1];
      if (scale) upstream = g.op('Mul', [upstream, scale]);
      delta = activationBackward(
        g,
        net.activation,
        pass.zs[l - 1],
        pass.activations[l - 1],
        upstream,
      );
    }
  }
  return gradients;
}

/** Writes the optimizer update of the flat weights; outputs go to the given names. */
function optimizerUpdate(
  g: GraphWriter,
  net: DenseTrainingNet,
  param: string,
  slots: string[],
  gradient: string,
  stepScalars: string[],
  outParam: string,
  outSlots: string[],
): void {
  const c = OPTIMIZER_CONSTANTS;
  const square = () => g.op('Mul', [gradient, gradient]);
  switch (net.optimizer) {
    case 'adam': {
      const [m, v] = slots;
      const [rate, epsilon] = stepScalars;
      // Scaled moments (see adamStepScalars).
      const mNext = g.op(
        'Add',
        [g.op('Mul', [m, g.constant(c.adamBeta1)]), gradient],
        {},
        outSlots[0],
      );
      const vNext = g.op(
        'Add',
        [g.op('Mul', [v, g.constant(c.adamBeta2)]), square()],
        {},
        outSlots[1],
      );
      const denominator = g.op('Add', [g.op('Sqrt', [vNext]), epsilon]);
      const step = g.op('Mul', [g.op('Div', [mNext, denominator]), rate]);
      g.op('Sub', [param, step], {}, outParam);
      return;
    }
    case 'rmsprop': {
      // momentum 0, not centred: ms = ρ·ms + (1 − ρ)·g²; w −= lr·g / √(ms + ε)
      const msNext = g.op(
        'Add',
        [
          g.op('Mul', [slots[0], g.constant(c.rmspropDecay)]),
          g.op('Mul', [square(), g.constant(1 - c.rmspropDecay)]),
        ],
        {},
        outSlots[0],
      );
      const root = g.op('Sqrt', [g.op('Add', [msNext, g.constant(c.epsilon)])]);
      const step = g.op('Div', [g.op('Mul', [gradient, g.constant(net.learningRate)]), root]);
      g.op('Sub', [param, step], {}, outParam);
      return;
    }
    case 'adagrad': {
      const accumNext = g.op('Add', [slots[0], square()], {}, outSlots[0]);
      const root = g.op('Sqrt', [g.op('Add', [accumNext, g.constant(c.epsilon)])]);
      const step = g.op('Mul', [g.op('Div', [gradient, root]), g.constant(net.learningRate)]);
      g.op('Sub', [param, step], {}, outParam);
      return;
    }
    default:
      g.op('Sub', [param, g.op('Mul', [gradient, g.constant(net.learningRate)])], {}, outParam);
  }
}

function stateInfos(net: DenseTrainingNet, rename: (name: string) => string): OnnxValueInfo[] {
  const count = parameterCount(net.sizes);
  return stateNames(net).map((name) => valueInfo(rename(name), FLOAT, [count]));
}

/**
 * One session run = `steps` training steps (a Scan over the batches), so calls from JS and
 * copies of the weights in and out happen once per chunk of batches, not once per batch.
 *
 * Inputs: x [rows, inputs] and y [rows, outputs] (every training row, one-hot targets for
 * classifiers; passed without a copy); batch_rows (int32 [steps, batch], the rows of each
 * step's batch, gathered inside the step); inv_size (float scalar, 1/batch); the optimizer's
 * per-step scalars ([steps] each); the state ({@link stateNames}). Outputs: the next state
 * (`<name>_next`) and outputs [steps, batch, outputs], the network's output for each batch
 * before its step's update (softmax probabilities, or the regression output), from which the
 * caller sums the training loss and accuracy.
 */
export function buildTrainingScanModel(net: DenseTrainingNet): Uint8Array {
  const g = new GraphWriter();
  const names = stateNames(net);
  const inner = (name: string) => `in_${name}`;
  const outer = (name: string) => `out_${name}`;
  const scalars = STEP_SCALARS[net.optimizer];
  // x, y and inv_size come from the outer graph.
  const x = g.op('Gather', ['x', 'rows'], { axis: attribute.int(0) });
  const y = g.op('Gather', ['y', 'rows'], { axis: attribute.int(0) });
  const params = unpackWeights(g, net, inner('weights'));
  const pass = forward(g, net, x, params, true);
  const probabilities = net.classification
    ? g.op('Softmax', [pass.output], { axis: attribute.int(1) })
    : null;
  const gradients = backward(g, net, pass, probabilities, y, 'inv_size', params);
  const slotStates = names.slice(1);
  optimizerUpdate(
    g,
    net,
    inner('weights'),
    slotStates.map(inner),
    packGradients(g, gradients),
    scalars.map(inner),
    outer('weights'),
    slotStates.map(outer),
  );
  // The loss and accuracy are summed in JS from these (fewer small ops per step).
  g.op('Identity', [probabilities ?? pass.output], {}, 'batch_outputs');

  const body: OnnxGraph = {
    name: 'training_step',
    node: g.nodes,
    initializer: g.initializers,
    input: [
      ...stateInfos(net, inner),
      valueInfo('rows', TensorDataType.INT32, ['batch']),
      ...scalars.map((name) => valueInfo(inner(name), FLOAT, [])),
    ],
    output: [
      ...stateInfos(net, outer),
      valueInfo('batch_outputs', FLOAT, ['batch', net.sizes[net.sizes.length - 1]]),
    ],
  };
  return encodeModel(
    buildModel({
      graph: {
        name: 'dense_training_scan',
        nodes: [
          node(
            'Scan',
            [...names, 'batch_rows', ...scalars],
            [...names.map((n) => `${n}_next`), 'outputs'],
            {
              body: attribute.graph(body),
              num_scan_inputs: attribute.int(1 + scalars.length),
            },
          ),
        ],
        inputs: [
          valueInfo('x', FLOAT, ['rows', net.sizes[0]]),
          valueInfo('y', FLOAT, ['rows', net.sizes[net.sizes.length - 1]]),
          valueInfo('batch_rows', TensorDataType.INT32, ['steps', 'batch']),
          valueInfo('inv_size', FLOAT, []),
          ...scalars.map((name) => valueInfo(name, FLOAT, ['steps'])),
          ...stateInfos(net, (name) => name),
        ],
        outputs: [
          ...stateInfos(net, (name) => `${name}_next`),
          valueInfo('outputs', FLOAT, ['steps', 'batch', net.sizes[net.sizes.length - 1]]),
        ],
      },
      producerName: 'maas-trainer',
    }),
  );
}

/**
 * Loss (and correct rows, for classifiers) of the network on x/y without dropout: inputs x, y,
 * inv_size [1] and the flat weights; outputs loss and hits (scalars).
 */
export function buildEvaluationModel(net: DenseTrainingNet): Uint8Array {
  const g = new GraphWriter();
  const params = unpackWeights(g, net, 'weights');
  const invSize = g.op('Squeeze', ['inv_size']);
  const pass = forward(g, net, 'x', params, false);
  const probabilities = net.classification
    ? g.op('Softmax', [pass.output], { axis: attribute.int(1) })
    : null;
  const { loss, hits } = lossAndHits(g, net, pass.output, probabilities, 'y', invSize);
  g.op('Identity', [loss], {}, 'loss');
  if (hits) g.op('Identity', [hits], {}, 'hits');
  return encodeModel(
    buildModel({
      graph: {
        name: 'dense_evaluation',
        nodes: g.nodes,
        initializers: g.initializers,
        inputs: [
          valueInfo('x', FLOAT, ['rows', net.sizes[0]]),
          valueInfo('y', FLOAT, ['rows', net.sizes[net.sizes.length - 1]]),
          valueInfo('inv_size', FLOAT, [1]),
          valueInfo('weights', FLOAT, [parameterCount(net.sizes)]),
        ],
        outputs: [valueInfo('loss', FLOAT, []), ...(hits ? [valueInfo('hits', FLOAT, [])] : [])],
      },
      producerName: 'maas-trainer',
    }),
  );
}
