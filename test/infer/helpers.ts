// Shared by the inference tests: models whose weights are quick to make and whose batch norms are
// not the identity (random moving statistics, scales and offsets), so that folding them matters.
import * as tf from '../../src/tf.js';
import { randomValues } from '../engine/native/helpers.js';

/** Build models with this (fast), then give them weights with randomizeWeights. */
export const zeros = () => tf.initializers.zeros();

/**
 * He-uniform kernels (limit sqrt(6 / fan_in)) and small biases in every Conv2D and Dense layer, from
 * a linear congruential generator: a ResNet-152's 58 M weights in well under a second, where
 * TF.js's seeded normal initializers take many.
 */
export function randomizeWeights(model: tf.LayersModel, seed = 100): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Conv2D' && layer.getClassName() !== 'Dense') continue;
    const values = layer.weights.map((w) => {
      const dims = w.shape as number[];
      const u = randomValues(dims.reduce((a, b) => a * b, 1), s++);
      const fanIn = dims.length > 1 ? dims.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
      const limit = w.name.endsWith('kernel') ? Math.sqrt(6 / fanIn) : 0.1;
      return tf.tensor(u.map((v) => v * limit), dims);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/**
 * Random moving statistics and affine parameters in every BatchNormalization layer: mean in
 * [-0.2, 0.2], variance in [0.5, 2], gamma in [0.5, 1.5], beta in [-0.2, 0.2].
 */
export function randomizeBatchNorms(model: tf.LayersModel, seed = 1): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.weights.map((w) => {
      const u = randomValues(w.shape.reduce((a: number, b) => a * (b ?? 1), 1), s++);
      const [center, halfWidth] = w.name.includes('variance') ? [1.25, 0.75] : w.name.includes('gamma') ? [1, 0.5] : [0, 0.2];
      return tf.tensor(u.map((v) => center + halfWidth * v), w.shape as number[]);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/** Deterministic images in [0, 1): [n, ...shape]. */
export function images(n: number, shape: number[], seed = 7): tf.Tensor4D {
  const size = n * shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(randomValues(size, seed).map((v) => (v + 1) / 2), [n, ...shape] as [number, number, number, number]);
}

/** The largest |a - b| over the largest |b| (at least 1): float32 differences relative to the output's scale. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0, scale = 1;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}
