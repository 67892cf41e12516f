// A TensorFlow.js functional model as a plain list of layers with the names of the layers feeding
// each, for the exporters. Every model here is a single-input, single-output chain of layers used
// once each (no shared layers). Browser-safe.
import type * as tf from '../tf.js';
import { UserError } from '../errors.js';

export interface GraphLayer {
  layer: tf.layers.Layer;
  name: string;
  className: string;
  /** Names of the layers whose outputs this one takes, in argument order. */
  inputs: string[];
  /** Output shape without the batch axis. */
  shape: number[];
}

export function modelGraph(model: tf.LayersModel): GraphLayer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new UserError(`model '${model.name}' has ${model.inputs.length} inputs and ${model.outputs.length} outputs; only single-input, single-output models are exported`);
  return model.layers.map((layer) => {
    if (layer.inboundNodes.length !== 1) throw new UserError(`layer '${layer.name}' is used ${layer.inboundNodes.length} times; shared layers are not exported`);
    const shape = (layer.outputShape as (number | null)[]).slice(1);
    if (!shape.every((d) => typeof d === 'number')) throw new UserError(`layer '${layer.name}' has a dynamic output shape; export needs a fixed input size`);
    return { layer, name: layer.name, className: layer.getClassName(), inputs: layer.inboundNodes[0].inboundLayers.map((l) => l.name), shape: shape as number[] };
  });
}

/**
 * The order in which Keras 3 lists a functional model's layers (keras.src.ops.function.map_graph): a
 * depth-first walk from the output numbers each layer on first visit; layers are sorted by depth
 * (longest path to the output, inputs first), ties by that number. Keras keys saved variables by
 * class-name counters in this order, so an exporter must follow it exactly.
 */
export function kerasLayerOrder(layers: { name: string; inputs: string[] }[], output: string): string[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const index = new Map<string, number>();
  const finished = new Set<string>();
  const postOrder: string[] = [];
  const visit = (name: string) => {
    if (finished.has(name)) return;
    if (!index.has(name)) index.set(name, index.size);
    for (const input of byName.get(name)!.inputs) visit(input);
    finished.add(name);
    postOrder.push(name);
  };
  visit(output);
  const depth = new Map<string, number>();
  for (const name of [...postOrder].reverse()) {
    const d = depth.get(name) ?? 0;
    depth.set(name, d);
    for (const input of byName.get(name)!.inputs) depth.set(input, Math.max(d + 1, depth.get(input) ?? 0));
  }
  return [...depth.keys()].sort((a, b) => depth.get(b)! - depth.get(a)! || index.get(a)! - index.get(b)!);
}
