// The inference graph: a Keras functional model read into a small list of operations in
// topological order, for the graph transformations of passes/ and an executor to run. Each
// operation keeps the layers it came from, so that an executor reads their weights when it needs
// them (and again when they change). Layers this file does not know become 'layer' operations,
// which run through the layer's own `call`. Browser-safe: tf and the layer objects only.
import * as tf from '../tf.js';

/** A tensor of the graph: one image's shape ([H, W, C] or [C]); the batch is the executor's. */
export interface Value {
  id: number;
  shape: number[];
  /** The Keras tensor it came from ('layer/node/index'), stable across compilations of one model. */
  name: string;
}

/** A layer variable read through its layer (its tensor changes when the model's weights do). */
export interface Weight {
  variable: tf.LayerVariable;
}

export type Padding = 'same' | 'valid';

/** Batch normalization with the moving statistics (Keras's BatchNormalization in inference). */
export interface BatchNormSpec {
  layer: string;
  epsilon: number;
  gamma: Weight | null;
  beta: Weight | null;
  mean: Weight;
  variance: Weight;
}

export interface ConvSpec {
  kernelSize: [number, number];
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
  /** HWIO kernel and bias of the layer, or fixed weights (a parameter-free layer lowered to a convolution). */
  kernel: Weight | Float32Array;
  bias: Weight | null;
  filters: number;
  /** A batch norm folded in (fold-batch-norm). */
  batchNorm: BatchNormSpec | null;
  /** Zero padding folded in (fold-zero-padding): [top, bottom, left, right], added to the layer's own. */
  extraPadding: [number, number, number, number];
  /** ReLU of conv + bias (the layer's own activation, or fuse-activation). */
  relu: boolean;
  /** A value added after it (fuse-residual-add), then ReLU when reluAfterSum. */
  residual: Value | null;
  reluAfterSum: boolean;
}

export interface PoolSpec {
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
  /** Zero padding folded in where the input is known to be non-negative (fold-zero-padding). */
  extraPadding: [number, number, number, number];
}

export type Node =
  | { op: 'input' }
  | { op: 'conv'; conv: ConvSpec }
  | { op: 'batchNorm'; batchNorm: BatchNormSpec; relu: boolean }
  | { op: 'relu' }
  | { op: 'identity' }
  | { op: 'add'; relu: boolean }
  | { op: 'zeroPad'; padding: [number, number, number, number] }
  | { op: 'maxPool' | 'avgPool'; pool: PoolSpec }
  | { op: 'globalAvgPool' }
  | { op: 'flatten' }
  | { op: 'dense'; kernel: Weight; bias: Weight | null; units: number; relu: boolean; softmax: boolean }
  | { op: 'softmax' }
  | { op: 'subsampleZeroPad'; stride: number; channels: number }
  | { op: 'layer'; layer: tf.layers.Layer; why: string };

export type Operation = Node & {
  id: number;
  inputs: Value[];
  output: Value;
  /** Names of the Keras layers it stands for (several once fused). */
  layers: string[];
};

export interface Graph {
  input: Value;
  output: Value;
  operations: Operation[];
}

/** Why `model` cannot be read as one graph (null when it can). */
export function unsupportedModel(model: tf.LayersModel): string | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return 'the model has several inputs or outputs';
  const shape = model.inputs[0].shape;
  if (shape.length !== 4 || shape.slice(1).some((d) => d == null)) return 'the input is not an image of fixed size';
  return null;
}

type Config = tf.serialization.ConfigDict;
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

/** The layer's variable whose name ends in `/suffix`, or null. */
function weight(layer: tf.layers.Layer, suffix: string): Weight | null {
  const variable = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.name.endsWith(`/${suffix}`));
  return variable ? { variable } : null;
}

function channelsLast(config: Config): boolean {
  return config.dataFormat === undefined || config.dataFormat === 'channelsLast';
}

function batchNormSpec(layer: tf.layers.Layer, config: Config, rank: number): BatchNormSpec | string {
  const axis = Number(config.axis ?? -1);
  if (axis !== -1 && axis !== rank - 1) return `batch norm over axis ${axis}`;
  const mean = weight(layer, 'moving_mean'), variance = weight(layer, 'moving_variance');
  if (!mean || !variance) return 'batch norm without moving statistics';
  return {
    layer: layer.name, epsilon: Number(config.epsilon ?? 1e-3), mean, variance,
    gamma: config.scale === false ? null : weight(layer, 'gamma'), beta: config.center === false ? null : weight(layer, 'beta'),
  };
}

/** The operation of a known layer, or the reason it runs as a plain layer. */
function classify(layer: tf.layers.Layer, inputRank: number, inputCount: number): Node | string {
  const config = layer.getConfig();
  const className = layer.getClassName();
  const activation = (config.activation as string | undefined) ?? 'linear';
  switch (className) {
    case 'Conv2D': {
      if (!channelsLast(config)) return 'channels-first convolution';
      if (activation !== 'linear' && activation !== 'relu') return `activation ${activation}`;
      if (Number(config.groups ?? 1) !== 1) return 'grouped convolution';
      const kernel = weight(layer, 'kernel');
      if (!kernel) return 'convolution without a kernel';
      return {
        op: 'conv', conv: {
          kernelSize: pair(config.kernelSize), strides: pair(config.strides), dilation: pair(config.dilationRate ?? 1),
          padding: config.padding === 'same' ? 'same' : 'valid', kernel, bias: config.useBias === false ? null : weight(layer, 'bias'),
          filters: Number(config.filters), batchNorm: null, extraPadding: [0, 0, 0, 0], relu: activation === 'relu',
          residual: null, reluAfterSum: false,
        },
      };
    }
    case 'BatchNormalization': {
      const spec = batchNormSpec(layer, config, inputRank);
      return typeof spec === 'string' ? spec : { op: 'batchNorm', batchNorm: spec, relu: false };
    }
    case 'Activation':
      if (activation === 'relu') return { op: 'relu' };
      if (activation === 'linear') return { op: 'identity' };
      if (activation === 'softmax' && inputRank === 2) return { op: 'softmax' };
      return `activation ${activation}`;
    case 'ReLU':
      return config.maxValue == null && !config.negativeSlope && !config.threshold ? { op: 'relu' } : 'clipped ReLU';
    case 'Dropout': case 'SpatialDropout1D': case 'SpatialDropout2D': case 'GaussianNoise': case 'GaussianDropout': case 'AlphaDropout':
      return { op: 'identity' };
    case 'Add':
      return inputCount === 2 ? { op: 'add', relu: false } : 'an Add of more than two tensors';
    case 'ZeroPadding2D': {
      if (!channelsLast(config)) return 'channels-first padding';
      const p = config.padding as number | [number, number] | [[number, number], [number, number]];
      const [[top, bottom], [left, right]] = typeof p === 'number' ? [[p, p], [p, p]]
        : typeof p[0] === 'number' ? [[p[0], p[0]], [p[1] as number, p[1] as number]] : (p as [[number, number], [number, number]]);
      return { op: 'zeroPad', padding: [top, bottom, left, right] };
    }
    case 'MaxPooling2D': case 'AveragePooling2D': {
      if (!channelsLast(config)) return 'channels-first pooling';
      const poolSize = pair(config.poolSize);
      return {
        op: className === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
        pool: { poolSize, strides: pair(config.strides ?? poolSize), padding: config.padding === 'same' ? 'same' : 'valid', extraPadding: [0, 0, 0, 0] },
      };
    }
    case 'GlobalAveragePooling2D':
      return channelsLast(config) && !config.keepDims ? { op: 'globalAvgPool' } : 'global pooling that keeps dims or is channels-first';
    case 'Flatten':
      return inputRank === 4 ? { op: 'flatten' } : `flatten of rank ${inputRank}`;
    case 'Dense': {
      const kernel = weight(layer, 'kernel');
      if (inputRank !== 2 || !kernel) return 'dense layer on a rank other than 2';
      if (activation !== 'linear' && activation !== 'relu' && activation !== 'softmax') return `activation ${activation}`;
      return { op: 'dense', kernel, bias: config.useBias === false ? null : weight(layer, 'bias'), units: Number(config.units),
        relu: activation === 'relu', softmax: activation === 'softmax' };
    }
    case 'SubsampleZeroPad':
      return { op: 'subsampleZeroPad', stride: Number(config.stride), channels: Number(config.channels) };
    default:
      return `layer class ${className}`;
  }
}

const keyOf = (t: tf.SymbolicTensor) => `${t.sourceLayer.name}/${t.nodeIndex}/${t.tensorIndex}`;

/** Reads `model` into a graph (check unsupportedModel first). */
export function readGraph(model: tf.LayersModel): Graph {
  const values = new Map<string, Value>();
  const operations: Operation[] = [];
  let nextValue = 0;
  const valueOf = (t: tf.SymbolicTensor): Value => {
    const key = keyOf(t);
    let v = values.get(key);
    if (!v) values.set(key, (v = { id: nextValue++, shape: (t.shape as number[]).slice(1), name: key }));
    return v;
  };
  // Depth-first from the output, so that every operation comes after the ones it reads.
  const visited = new Set<string>();
  const visit = (t: tf.SymbolicTensor): void => {
    const key = keyOf(t);
    if (visited.has(key)) return;
    visited.add(key);
    const layer = t.sourceLayer;
    const node = layer.inboundNodes[t.nodeIndex];
    const inputs = layer.getClassName() === 'InputLayer' ? [] : node.inputTensors;
    for (const input of inputs) visit(input);
    const outputs = node.outputTensors;
    const output = valueOf(outputs[t.tensorIndex]);
    const base = { id: operations.length, inputs: inputs.map(valueOf), output, layers: [layer.name] };
    if (inputs.length === 0) {
      operations.push({ ...base, op: 'input' });
      return;
    }
    const node2 = outputs.length === 1 ? classify(layer, inputs[0].rank, inputs.length) : 'a layer with several outputs';
    operations.push(typeof node2 === 'string' ? { ...base, op: 'layer', layer, why: node2 } : { ...base, ...node2 });
  };
  visit(model.outputs[0]);
  const input = valueOf(model.inputs[0]);
  return { input, output: valueOf(model.outputs[0]), operations };
}

/** The operations that read `value`. */
export function readers(graph: Graph, value: Value): Operation[] {
  return graph.operations.filter((o) => o.inputs.includes(value) || (o.op === 'conv' && o.conv.residual === value));
}

/** Replaces every read of `from` by `to` (after an operation writing `from` was removed). */
export function replaceValue(graph: Graph, from: Value, to: Value): void {
  for (const o of graph.operations) {
    o.inputs = o.inputs.map((v) => (v === from ? to : v));
    if (o.op === 'conv' && o.conv.residual === from) o.conv.residual = to;
  }
  if (graph.output === from) graph.output = to;
}

/** Removes `operation` and makes its readers read `to` instead of its output. */
export function bypass(graph: Graph, operation: Operation, to: Value): void {
  graph.operations = graph.operations.filter((o) => o !== operation);
  replaceValue(graph, operation.output, to);
}

/**
 * The only reader of `value`, or null when it has several, none, or is the graph's output (an
 * operation fused into its producer must be the producer's only consumer).
 */
export function soleReader(graph: Graph, value: Value): Operation | null {
  if (graph.output === value) return null;
  const found = readers(graph, value);
  return found.length === 1 ? found[0] : null;
}

/** The operation that writes `value`. */
export function producer(graph: Graph, value: Value): Operation | undefined {
  return graph.operations.find((o) => o.output === value);
}
