// Cutting a trained model's graph in two, for Grad-CAM (src/explain/) and for fine-tuning on cached
// backbone features (src/transfer/): the part after a cut is rebuilt on a new Input by re-applying
// the model's own layers, so both parts share their weights with the model (training the top part
// trains the model). Also finds the model's landmarks: the last feature map, the start of the last
// stage and the classifier head.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';

type Layer = tf.layers.Layer;

/** The layer that produces `tensor` in `model`, and its index in model.layers (topological order). */
function producer(model: tf.LayersModel, tensor: tf.SymbolicTensor): { layer: Layer; index: number } {
  const index = model.layers.findIndex((l) => l.inboundNodes.some((n) => n.outputTensors.some((t) => t.id === tensor.id)));
  if (index < 0) throw new Error(`tensor ${tensor.name} is not produced by a layer of model ${model.name}`);
  return { layer: model.layers[index], index };
}

/** The first node of `layer`, which is the one in the model it was built for. */
function node(layer: Layer) {
  return layer.inboundNodes[0];
}

const POOLING_OR_RESHAPE = /Pooling|Flatten|Reshape|Dropout/;

/**
 * The last feature map of a convolutional network: the output of the last layer whose output is
 * an image (rank 4) and which is not a pooling, reshaping or dropout layer. For the ResNets here,
 * the last residual block's ReLU (relu5c in the course ResNet-50).
 */
export function lastFeatureLayer(model: tf.LayersModel): Layer {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i];
    const shape = layer.outputShape as (number | null)[];
    if (Array.isArray(shape) && shape.length === 4 && !POOLING_OR_RESHAPE.test(layer.getClassName())) {
      if (node(layer).inputTensors.length > 0) return layer;
    }
  }
  throw new Error(`model ${model.name} has no image-shaped (rank 4) layer output to explain`);
}

/** The classifier: the model's last layer when it is a Dense layer with a softmax (its input is the pooled features). */
export function softmaxHead(model: tf.LayersModel): tf.layers.Layer | null {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig() as { activation?: string };
  return last.getClassName() === 'Dense' && config.activation === 'softmax' ? last : null;
}

/** The pooled features the head reads: the input of the last layer. */
export function headInput(model: tf.LayersModel): tf.SymbolicTensor {
  const last = model.layers[model.layers.length - 1];
  return node(last).inputTensors[0];
}

/**
 * Where the last stage begins: the input of the last strided convolution (the first block of the
 * last stage downsamples); in a network without one, the input of the last residual block (the
 * earliest input of the last Add).
 */
export function lastStageInput(model: tf.LayersModel): tf.SymbolicTensor {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i];
    const strides = (layer.getConfig() as { strides?: number | number[] }).strides;
    const strided = Array.isArray(strides) ? strides.some((s) => s > 1) : (strides ?? 1) > 1;
    if (/Conv2D$/.test(layer.getClassName()) && strided) return node(layer).inputTensors[0];
  }
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i];
    if (layer.getClassName() !== 'Add') continue;
    const inputs = node(layer).inputTensors;
    return inputs.reduce((a, b) => (producer(model, a).index <= producer(model, b).index ? a : b));
  }
  throw new Error(`model ${model.name} has no strided convolution or residual block to start a last stage at`);
}

/**
 * A model from a new Input shaped like `from` to the image of `to` (default: the model's output),
 * made of `model`'s own layers re-applied in order; the weights are shared, not copied. Throws when
 * a layer after the cut also reads a tensor from before it (a connection crossing the cut).
 */
export function modelAfter(model: tf.LayersModel, from: tf.SymbolicTensor, to: tf.SymbolicTensor = model.outputs[0], name = `${model.name}_after_cut`): tf.LayersModel {
  const input = tf.input({ shape: from.shape.slice(1) as number[], name: `${name}_input` });
  const mapped = new Map<number, tf.SymbolicTensor>([[from.id, input]]);
  const start = producer(model, from).index;
  for (const layer of model.layers.slice(start + 1)) {
    if (mapped.has(to.id)) break;
    const n = node(layer);
    if (n.inputTensors.length === 0) continue;
    const inputs = n.inputTensors.map((t) => mapped.get(t.id));
    if (inputs.every((t) => t === undefined)) continue; // a branch that does not depend on the cut
    if (inputs.some((t) => t === undefined)) {
      throw new Error(`layer ${layer.name} reads a tensor from before the cut at ${from.name}: the model cannot be cut there`);
    }
    const args = inputs.length === 1 ? inputs[0]! : (inputs as tf.SymbolicTensor[]);
    const outputs = layer.apply(args, n.callArgs ?? {}) as tf.SymbolicTensor | tf.SymbolicTensor[];
    const list = Array.isArray(outputs) ? outputs : [outputs];
    n.outputTensors.forEach((t, i) => mapped.set(t.id, list[i]));
  }
  const out = mapped.get(to.id);
  if (!out) throw new Error(`${to.name} does not follow ${from.name} in model ${model.name}`);
  return tf.model({ inputs: input, outputs: out, name });
}

/** A model from `model`'s inputs to `to` (one of its tensors): the backbone up to a cut. */
export function modelUntil(model: tf.LayersModel, to: tf.SymbolicTensor, name = `${model.name}_until_cut`): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: to, name });
}

/**
 * Frees the weights of every layer of `models`, each once, however the models share layers. Use it
 * for models made with modelAfter and their source (Container.dispose counts layer uses per
 * symbolic call, so it frees shared weights too early or never).
 */
export function disposeModels(...models: tf.LayersModel[]): void {
  const seen = new Set<tf.LayerVariable>();
  for (const model of models) {
    for (const layer of model.layers) {
      for (const weight of layer.weights) {
        if (seen.has(weight)) continue;
        seen.add(weight);
        try {
          weight.dispose();
        } catch {
          // already freed
        }
      }
    }
  }
}

/** The classifier head: the model's last layer, which must be a Dense layer producing its output. */
export function headLayer(model: tf.LayersModel): tf.layers.Layer {
  const last = model.layers[model.layers.length - 1];
  if (!last || last.getClassName() !== 'Dense' || model.outputs.length !== 1 || model.outputs[0].sourceLayer !== last) {
    throw new UserError(`model '${model.name}' does not end in a Dense classifier (its last layer is ${last ? `'${last.name}' (${last.getClassName()})` : 'missing'}); it has no head to train or replace`);
  }
  return last;
}
