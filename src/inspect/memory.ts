// A lower bound on the memory a model needs to run a batch: the float32 outputs of all its layers,
// which a training step keeps for the backward pass (and the weights). The real need is larger
// (gradients, optimiser moments, the engine's scratch space), so a batch refused by this bound could
// never have run; used to refuse absurd sizes (`--batch-size 100000`, `--input 2048`) in one line
// before the engine tries and the process dies. Browser-safe.
import type * as tf from '../tf.js';

/** Bytes of all layer outputs for `batch` images, plus the weights, in float32. */
export function activationBytes(model: tf.LayersModel, batch: number): number {
  let perImage = 0;
  for (const layer of model.layers) {
    const shapes = (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as (number | null)[][];
    for (const shape of shapes) perImage += shape.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1);
  }
  const weights = model.weights.reduce((n, w) => n + w.shape.reduce<number>((a, d) => a * (d ?? 1), 1), 0);
  return 4 * (perImage * batch + weights);
}
