// A model of this project as an ONNX model (opset 13, IR version 7), written with protobufjs from ONNX's
// own schema (src/interop/onnx-schema.ts). The input keeps the project's convention: NHWC float32
// pixels in [0, 1], named 'input', with a dynamic batch axis ('batch'); the output 'output' is
// [batch, classes] probabilities (or logits for a linear head). Inside, a Transpose turns NHWC into
// ONNX's NCHW after the Preprocessing layer (Mul + Add per channel), and each Keras layer becomes
// its ONNX operator(s): Conv (TensorFlow's 'same' padding made explicit), BatchNormalization
// (inference), Relu, MaxPool / AveragePool, Pad, Add, GlobalAveragePool + Flatten, Gemm, Softmax; the
// option-A shortcut becomes a strided Slice + a Pad of the channel axis. Browser-safe.
import protobuf from 'protobufjs';
import { UserError } from '../errors.js';
import type * as tf from '../tf.js';
import type { ModelMetadata } from '../train/checkpoint.js';
import { modelGraph, type GraphLayer } from './graph.js';
import { ONNX_SCHEMA } from './onnx-schema.js';
import { hwioToOihw } from './tensors.js';

export const ONNX_OPSET = 13;
/** IR version 7 is the one that goes with opset 13. */
const IR_VERSION = 7;
const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;
/** Slice's "to the end" for ends. */
const INT64_MAX = 9223372036854775807n;

type Attribute = { name: string; type: number; f?: number; i?: number; s?: Uint8Array; ints?: number[] };
interface NodeSpec {
  op_type: string;
  input: string[];
  output: string[];
  name: string;
  attribute: Attribute[];
}
interface TensorSpec {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

const ints = (name: string, values: number[]): Attribute => ({ name, type: ATTRIBUTE.INTS, ints: values });
const int = (name: string, value: number): Attribute => ({ name, type: ATTRIBUTE.INT, i: value });
const float = (name: string, value: number): Attribute => ({ name, type: ATTRIBUTE.FLOAT, f: value });
const pair = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);
const bytesOf = (a: Float32Array | BigInt64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** TensorFlow's 'same' padding of one axis: [before, after] for size `size`, window `k`, stride `s`. */
function samePadding(size: number, k: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(size / s) - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

class OnnxGraph {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];

  node(op: string, inputs: string[], output: string, attributes: Attribute[] = []): string {
    this.nodes.push({ op_type: op, input: inputs, output: [output], name: output, attribute: attributes });
    return output;
  }

  floats(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({ name, dims, data_type: FLOAT, raw_data: bytesOf(values) });
    return name;
  }

  int64s(name: string, values: (number | bigint)[]): string {
    this.initializers.push({ name, dims: [values.length], data_type: INT64, raw_data: bytesOf(BigInt64Array.from(values, (v) => BigInt(v))) });
    return name;
  }
}

/** Window attributes (kernel_shape, strides, pads) of a conv or pooling layer on input [h, w]. */
function windowAttributes(kernel: number[], strides: number[], padding: unknown, [h, w]: number[]): Attribute[] {
  const [top, bottom] = padding === 'same' ? samePadding(h, kernel[0], strides[0]) : [0, 0];
  const [left, right] = padding === 'same' ? samePadding(w, kernel[1], strides[1]) : [0, 0];
  return [ints('kernel_shape', kernel), ints('strides', strides), ints('pads', [top, left, bottom, right])];
}

/** Appends layer `g`'s operators reading `inputs` (NCHW for 4-D tensors); returns its output's name. */
function addLayer(graph: OnnxGraph, g: GraphLayer, inputs: string[], inputShape: number[] | undefined): string {
  const c = g.layer.getConfig() as Record<string, unknown>;
  const weights = g.layer.getWeights().map((w) => ({ shape: w.shape as number[], values: w.dataSync() as Float32Array }));
  const out = g.name;
  const activate = (x: string, activation: unknown): string => {
    if (activation === 'relu') return graph.node('Relu', [x], out);
    if (activation === 'softmax') return graph.node('Softmax', [x], out, [int('axis', -1)]);
    if (activation === undefined || activation === null || activation === 'linear') return graph.node('Identity', [x], out);
    throw new UserError(`layer '${g.name}': activation '${String(activation)}' is not exported to ONNX`);
  };
  switch (g.className) {
    case 'ZeroPadding2D': {
      const p = c.padding;
      const [[top, bottom], [left, right]] = typeof p === 'number' ? [[p, p], [p, p]] : (p as (number | number[])[]).map(pair);
      return graph.node('Pad', [inputs[0], graph.int64s(`${out}.pads`, [0, 0, top, left, 0, 0, bottom, right])], out);
    }
    case 'Conv2D': {
      if (pair(c.dilationRate).some((d) => d !== 1)) throw new UserError(`layer '${g.name}': dilated convolutions are not exported`);
      const kernel = hwioToOihw(weights[0]);
      const args = [inputs[0], graph.floats(`${out}.weight`, kernel.shape, kernel.values)];
      if (c.useBias) args.push(graph.floats(`${out}.bias`, weights[1].shape, weights[1].values));
      const conv = graph.node('Conv', args, c.activation === 'linear' ? out : `${out}/conv`, windowAttributes(pair(c.kernelSize), pair(c.strides), c.padding, inputShape!));
      return c.activation === 'linear' ? conv : activate(conv, c.activation);
    }
    case 'BatchNormalization': {
      if (c.axis !== -1 && c.axis !== 3) throw new UserError(`layer '${g.name}': batch norm over axis ${c.axis} is not exported`);
      const channels = g.shape.at(-1)!;
      let i = 0;
      const gamma = c.scale ? weights[i++].values : new Float32Array(channels).fill(1);
      const beta = c.center ? weights[i++].values : new Float32Array(channels);
      const [mean, variance] = [weights[i++].values, weights[i++].values];
      const named = (role: string, v: Float32Array) => graph.floats(`${out}.${role}`, [channels], v);
      return graph.node('BatchNormalization', [inputs[0], named('gamma', gamma), named('beta', beta), named('mean', mean), named('variance', variance)], out, [float('epsilon', c.epsilon as number)]);
    }
    case 'Activation':
      return activate(inputs[0], c.activation);
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const attributes = windowAttributes(pair(c.poolSize), pair(c.strides ?? c.poolSize), c.padding, inputShape!);
      // TensorFlow's 'same' average pooling leaves the padding out of each mean.
      if (g.className === 'AveragePooling2D') attributes.push(int('count_include_pad', 0));
      return graph.node(g.className === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [inputs[0]], out, attributes);
    }
    case 'GlobalAveragePooling2D':
      return graph.node('Flatten', [graph.node('GlobalAveragePool', [inputs[0]], `${out}/pool`)], out, [int('axis', 1)]);
    case 'Flatten':
      // Keras flattens NHWC order: transpose back first.
      return graph.node('Flatten', [graph.node('Transpose', [inputs[0]], `${out}/nhwc`, [ints('perm', [0, 2, 3, 1])])], out, [int('axis', 1)]);
    case 'Dense': {
      const args = [inputs[0], graph.floats(`${out}.weight`, weights[0].shape, weights[0].values)];
      if (c.useBias) args.push(graph.floats(`${out}.bias`, weights[1].shape, weights[1].values));
      else args.push(graph.floats(`${out}.bias`, [weights[0].shape[1]], new Float32Array(weights[0].shape[1])));
      return activate(graph.node('Gemm', args, `${out}/gemm`), c.activation);
    }
    case 'Add':
      return inputs.slice(1).reduce((sum, x, i) => graph.node('Add', [sum, x], i === inputs.length - 2 ? out : `${out}/${i}`), inputs[0]);
    case 'SubsampleZeroPad': {
      const stride = c.stride as number;
      const extra = g.shape[2] - inputShape![2];
      const before = Math.floor(extra / 2);
      let x = inputs[0];
      if (stride > 1) {
        x = graph.node('Slice', [x, graph.int64s(`${out}.starts`, [0, 0]), graph.int64s(`${out}.ends`, [INT64_MAX, INT64_MAX]), graph.int64s(`${out}.axes`, [2, 3]), graph.int64s(`${out}.steps`, [stride, stride])], `${out}/subsample`);
      }
      return graph.node('Pad', [x, graph.int64s(`${out}.pads`, [0, before, 0, 0, 0, extra - before, 0, 0])], out);
    }
    default:
      throw new UserError(`layer '${g.name}' (${g.className}) has no ONNX counterpart in this exporter`);
  }
}

/** The serialized ONNX model of `model`. */
export function onnxModelBytes(model: tf.LayersModel, metadata: ModelMetadata): Uint8Array {
  const layers = modelGraph(model);
  const graph = new OnnxGraph();
  const outputs = new Map<string, string>();
  const shapes = new Map(layers.map((l) => [l.name, l.shape]));
  const input = layers.find((l) => l.className === 'InputLayer')!;
  const [h, w, channels] = input.shape;
  let transposed = false;
  for (const g of layers) {
    if (g.className === 'InputLayer') {
      outputs.set(g.name, 'input');
      continue;
    }
    let inputs = g.inputs.map((i) => outputs.get(i)!);
    if (g.className === 'Preprocessing') {
      const c = g.layer.getConfig() as { scale: number[]; offset: number[] };
      const scaled = graph.node('Mul', [inputs[0], graph.floats(`${g.name}.scale`, [channels], Float32Array.from(c.scale))], `${g.name}/scale`);
      outputs.set(g.name, graph.node('Add', [scaled, graph.floats(`${g.name}.offset`, [channels], Float32Array.from(c.offset))], g.name));
      continue;
    }
    if (!transposed) {
      // The first layer past the input (and its normalisation) reads NCHW from here on.
      if (g.inputs.length !== 1) throw new UserError(`layer '${g.name}' joins the input with another tensor; not exported`);
      inputs = [graph.node('Transpose', inputs, 'input/nchw', [ints('perm', [0, 3, 1, 2])])];
      transposed = true;
    }
    outputs.set(g.name, addLayer(graph, g, inputs, shapes.get(g.inputs[0])));
  }
  const last = layers.find((l) => l.layer === model.outputs[0].sourceLayer)!;
  graph.node('Identity', [outputs.get(last.name)!], 'output');
  const classes = last.shape[0];
  const tensorType = (dims: (number | string)[]) => ({
    tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } },
  });
  const onnx = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'resnet-ts',
    model_version: 1,
    doc_string: `${metadata.model}: NHWC float32 input in [0, 1] (preprocessing ${metadata.preprocessing ?? 'none'} inside); output [batch, ${classes}]`,
    metadata_props: [
      { key: 'model', value: metadata.model },
      { key: 'class_names', value: JSON.stringify(metadata.classNames) },
      { key: 'input_layout', value: 'NHWC' },
      { key: 'preprocessing', value: metadata.preprocessing ?? 'none' },
    ],
    graph: {
      name: metadata.model,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [{ name: 'input', type: tensorType(['batch', h, w, channels]) }],
      output: [{ name: 'output', type: tensorType(['batch', classes]) }],
    },
  };
  const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
  const Model = root.lookupType('onnx.ModelProto');
  return Model.encode(Model.fromObject(onnx)).finish();
}
