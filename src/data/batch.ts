// Batches as tensors for training and evaluation.
import * as tf from '../tf.js';
import type { ImageDataset } from './types.js';

export interface BatchOptions {
  /** Label smoothing ls in [0, 1): targets become onehot * (1 - ls) + ls / classes. */
  labelSmoothing?: number;
}

/** Copies the images/labels at `indices` into xs [b, H, W, C] and one-hot ys [b, classes]; the caller disposes both. */
export function makeBatch(ds: ImageDataset, indices: ArrayLike<number>, options: BatchOptions = {}): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) throw new RangeError(`makeBatch: labelSmoothing must be in [0, 1), got ${smoothing}`);
  const [n, height, width, channels] = ds.shape;
  const classes = ds.classNames.length;
  const imageLength = height * width * channels;
  const pixels = new Float32Array(indices.length * imageLength);
  const targets = new Float32Array(indices.length * classes).fill(smoothing / classes);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`makeBatch: index ${index} is outside 0..${n - 1}`);
    pixels.set(ds.images.subarray(index * imageLength, (index + 1) * imageLength), i * imageLength);
    targets[i * classes + ds.labels[index]] = 1 - smoothing + smoothing / classes;
  }
  return {
    xs: tf.tensor4d(pixels, [indices.length, height, width, channels]),
    ys: tf.tensor2d(targets, [indices.length, classes]),
  };
}
