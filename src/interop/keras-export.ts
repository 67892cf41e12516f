// A model of this project as a Keras 3 .keras archive's contents: config.json in Keras 3's format,
// built from standard Keras layers only, so that `keras.saving.load_model` loads it in safe mode
// without custom objects, and the variables keyed the way Keras reads them back (class-name counters
// in Keras's own layer order, src/interop/graph.ts). The two custom layers become standard ones:
//   - Preprocessing -> Rescaling(scale=[...], offset=[...]) (per channel, broadcast on the last axis);
//   - SubsampleZeroPad (option-A shortcut) -> AveragePooling2D(1, stride) (every stride-th pixel),
//     Reshape(h, w, c, 1), ZeroPadding3D on the channel axis, Reshape(h, w, c').
// Browser-safe: the HDF5 and zip writing is in src/interop/export.ts.
import { UserError } from '../errors.js';
import type * as tf from '../tf.js';
import { kerasLayerOrder, modelGraph, type GraphLayer } from './graph.js';
import { toSnakeCase } from './keras-config.js';
import type { WeightArray } from './tensors.js';

/** The Keras version whose format this writes (what it is tested against). */
export const KERAS_VERSION = '3.15.1';

interface KerasLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inputs: string[];
  /** Output shape without the batch axis. */
  shape: number[];
  weights: WeightArray[];
}

export interface KerasArchiveContents {
  config: Record<string, unknown>;
  /** Each weighted layer's variables: `${path}/vars/0, 1, ...`, and the layer name Keras records there. */
  variables: { path: string; name: string; arrays: WeightArray[] }[];
}

const pair = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);

/** TF.js's ZeroPadding2D padding (a number, [h, w] or [[top, bottom], [left, right]]) as Keras's [[top, bottom], [left, right]]. */
function padding2d(p: unknown): number[][] {
  if (typeof p === 'number') return [[p, p], [p, p]];
  const [h, w] = p as (number | number[])[];
  return [pair(h), pair(w)];
}

/** The standard Keras layers (one or more) for one TF.js layer. */
function toKeras(g: GraphLayer, shapes: Map<string, number[]>): KerasLayer[] {
  const c = g.layer.getConfig() as Record<string, unknown>;
  const weights = g.layer.getWeights().map((w) => ({ shape: w.shape as number[], values: w.dataSync() as Float32Array }));
  const one = (className: string, config: Record<string, unknown>): KerasLayer[] => [{ name: g.name, className, config, inputs: g.inputs, shape: g.shape, weights }];
  const activation = (a: unknown) => (a === undefined || a === null ? 'linear' : String(a));
  switch (g.className) {
    case 'InputLayer':
      return one('InputLayer', { batch_shape: [null, ...g.shape], dtype: 'float32', sparse: false });
    case 'Preprocessing':
      return one('Rescaling', { scale: c.scale, offset: c.offset });
    case 'ZeroPadding2D':
      return one('ZeroPadding2D', { padding: padding2d(c.padding), data_format: 'channels_last' });
    case 'Conv2D':
      if (pair(c.dilationRate).some((d) => d !== 1)) throw new UserError(`layer '${g.name}': dilated convolutions are not exported`);
      return one('Conv2D', {
        filters: c.filters, kernel_size: pair(c.kernelSize), strides: pair(c.strides), padding: c.padding, data_format: 'channels_last',
        dilation_rate: [1, 1], groups: 1, activation: activation(c.activation), use_bias: c.useBias,
      });
    case 'BatchNormalization':
      if (c.axis !== -1 && c.axis !== 3) throw new UserError(`layer '${g.name}': batch norm over axis ${c.axis} is not exported`);
      return one('BatchNormalization', { axis: 3, momentum: c.momentum, epsilon: c.epsilon, center: c.center, scale: c.scale });
    case 'Activation':
      return one('Activation', { activation: activation(c.activation) });
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return one(g.className, { pool_size: pair(c.poolSize), strides: pair(c.strides ?? c.poolSize), padding: c.padding, data_format: 'channels_last' });
    case 'GlobalAveragePooling2D':
      return one('GlobalAveragePooling2D', { data_format: 'channels_last', keepdims: false });
    case 'Flatten':
      return one('Flatten', { data_format: 'channels_last' });
    case 'Dense':
      return one('Dense', { units: c.units, activation: activation(c.activation), use_bias: c.useBias });
    case 'Add':
      return one('Add', {});
    case 'SubsampleZeroPad': {
      const [h, w, out] = g.shape;
      const inChannels = shapes.get(g.inputs[0])!.at(-1)!;
      const before = Math.floor((out - inChannels) / 2);
      const stride = c.stride as number;
      const steps: KerasLayer[] = [];
      const step = (name: string, className: string, config: Record<string, unknown>, shape: number[]) => {
        steps.push({ name, className, config, inputs: steps.length ? [steps.at(-1)!.name] : g.inputs, shape, weights: [] });
      };
      if (stride > 1) step(`${g.name}_subsample`, 'AveragePooling2D', { pool_size: [1, 1], strides: [stride, stride], padding: 'valid', data_format: 'channels_last' }, [h, w, inChannels]);
      step(`${g.name}_expand`, 'Reshape', { target_shape: [h, w, inChannels, 1] }, [h, w, inChannels, 1]);
      step(`${g.name}_zeros`, 'ZeroPadding3D', { padding: [[0, 0], [0, 0], [before, out - inChannels - before]], data_format: 'channels_last' }, [h, w, out, 1]);
      step(g.name, 'Reshape', { target_shape: [h, w, out] }, [h, w, out]);
      return steps;
    }
    default:
      throw new UserError(`layer '${g.name}' (${g.className}) has no Keras counterpart in this exporter`);
  }
}

function kerasTensor(layer: KerasLayer): Record<string, unknown> {
  return { class_name: '__keras_tensor__', config: { shape: [null, ...layer.shape], dtype: 'float32', keras_history: [layer.name, 0, 0] } };
}

const DTYPE = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

/** config.json and the variables of a .keras archive for `model`, named `name` in Keras. */
export function kerasArchiveContents(model: tf.LayersModel, name: string): KerasArchiveContents {
  const graph = modelGraph(model);
  const shapes = new Map(graph.map((g) => [g.name, g.shape]));
  const layers = graph.flatMap((g) => toKeras(g, shapes));
  const byName = new Map(layers.map((l) => [l.name, l]));
  if (byName.size !== layers.length) throw new UserError(`model '${model.name}': exported layer names clash`);
  const output = graph.find((g) => g.layer === model.outputs[0].sourceLayer)!.name;
  const input = graph.find((g) => g.className === 'InputLayer')!.name;
  const order = kerasLayerOrder(layers, output);
  const counters = new Map<string, number>();
  const variables: KerasArchiveContents['variables'] = [];
  const entries = order.map((layerName) => {
    const layer = byName.get(layerName)!;
    const base = toSnakeCase(layer.className);
    const seen = counters.get(base);
    counters.set(base, seen === undefined ? 0 : seen + 1);
    const path = `layers/${seen === undefined ? base : `${base}_${seen + 1}`}`;
    if (layer.weights.length) variables.push({ path, name: layer.name, arrays: layer.weights });
    const inbound = layer.inputs.map((i) => kerasTensor(byName.get(i)!));
    const inputShapes = inbound.map((t) => (t.config as { shape: unknown }).shape);
    const isInput = layer.className === 'InputLayer';
    return {
      module: 'keras.layers',
      class_name: layer.className,
      config: isInput ? { ...layer.config, name: layer.name } : { name: layer.name, trainable: true, dtype: DTYPE, ...layer.config },
      registered_name: null,
      ...(isInput ? {} : { build_config: { input_shape: inputShapes.length === 1 ? inputShapes[0] : inputShapes } }),
      name: layer.name,
      inbound_nodes: isInput ? [] : [{ args: layer.className === 'Add' ? [inbound] : inbound, kwargs: {} }],
    };
  });
  const config = {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: { name, trainable: true, layers: entries, input_layers: [input, 0, 0], output_layers: [output, 0, 0] },
    registered_name: 'Functional',
    build_config: { input_shape: null },
    compile_config: null,
  };
  return { config, variables };
}
