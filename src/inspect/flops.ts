// The arithmetic of a model's convolutions and dense layers, per image, in FLOPs (2 per
// multiply-add, the usual convention): the yardstick for how close a training step runs to the
// rate of the convolution kernels alone (docs/benchmarks.md). Batch norm, activations, pooling and
// the optimizer are not counted: they are memory-bound, and frameworks leave them out too.
import type * as tf from '../tf.js';

export interface ModelFlops {
  /** The forward pass, per image. */
  forward: number;
  /**
   * A training step, per image: forward, backward-data and backward-weights passes, each costing
   * the forward's multiply-adds; layers with no trainable layer before them (the stem) skip the
   * backward-data pass, whose result (the input image's gradient) nothing needs.
   */
  training: number;
}

/** Multiply-adds of one image through `layer`, or 0 for layers without a kernel. */
function multiplyAdds(layer: tf.layers.Layer): number {
  const className = layer.getClassName();
  const kernel = layer.weights.find((w) => w.originalName.endsWith('kernel'));
  if (!kernel) return 0;
  if (className === 'Conv2D') {
    // HWIO kernel: each output position does kh * kw * inChannels multiply-adds per output channel.
    const [kh, kw, inChannels, outChannels] = kernel.shape as number[];
    const [, outH, outW] = layer.outputShape as number[];
    return outH * outW * outChannels * kh * kw * inChannels;
  }
  if (className === 'Dense') {
    const [inUnits, units] = kernel.shape as number[];
    return inUnits * units;
  }
  throw new Error(`countFlops: no FLOP count for layer ${layer.name} (${className})`);
}

export function countFlops(model: tf.LayersModel): ModelFlops {
  // model.layers is in topological order: a layer's inbound layers come before it.
  const afterTrainable = new Map<string, boolean>();
  let forward = 0, training = 0;
  for (const layer of model.layers) {
    const inbound = layer.inboundNodes.flatMap((node) => node.inboundLayers);
    const needsInputGradient = inbound.some((l) => afterTrainable.get(l.name) || l.trainableWeights.length > 0);
    afterTrainable.set(layer.name, needsInputGradient);
    const flops = 2 * multiplyAdds(layer);
    forward += flops;
    training += (needsInputGradient ? 3 : 2) * flops;
  }
  return { forward, training };
}
