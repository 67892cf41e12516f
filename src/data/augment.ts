// Seeded data augmentation for image batches. The work is done in plain JavaScript on the batch's
// pixels (augment-pixels.ts, not with backend kernels), so it runs, and gives the same numbers, on
// every engine and in the batch workers.
import * as tf from '../tf.js';
import { augmentPixels, type AugmentOptions } from './augment-pixels.js';

export * from './augment-pixels.js';

/**
 * Random padded crops, flips, shifts (edge pixels fill the uncovered border), rotations, contrast
 * and brightness, drawn per image from `seed`. Returns a new tensor clipped to [0, 1]; xs is untouched.
 * With every option 0/false the result equals xs (clipped to [0, 1]).
 */
export function augment(xs: tf.Tensor4D, options: AugmentOptions, seed: number): tf.Tensor4D {
  const pixels = xs.dataSync() as Float32Array;
  return tf.tensor4d(augmentPixels(pixels, xs.shape, options, seed), xs.shape);
}
