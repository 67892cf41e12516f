// Batches as tensors for training and evaluation.
import * as tf from '../tf.js';
import { assembleBatch, gatherImages } from './assemble.js';
import type { Batch } from './assemble.js';
import type { ImageDataset } from './types.js';

export interface BatchOptions {
  /** Label smoothing ls in [0, 1): targets become onehot * (1 - ls) + ls / classes. */
  labelSmoothing?: number;
}

/** Copies the images/labels at `indices` into xs [b, H, W, C] (pixels / 255) and one-hot ys
 *  [b, classes]; the caller disposes both. */
export function makeBatch(ds: ImageDataset, indices: ArrayLike<number>, options: BatchOptions = {}): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) throw new RangeError(`makeBatch: labelSmoothing must be in [0, 1), got ${smoothing}`);
  const [, height, width, channels] = ds.shape;
  let levels: Uint8Array;
  try {
    levels = gatherImages(ds.images, height * width * channels, indices);
  } catch (error) {
    throw new RangeError(`makeBatch: ${(error as Error).message}`);
  }
  const labels = Int32Array.from(indices, (i) => ds.labels[i]);
  const classes = ds.classNames.length;
  return batchTensors(assembleBatch(levels, labels, [height, width, channels], classes, { labelSmoothing: smoothing }), [height, width, channels], classes);
}

/** An assembled batch (assemble.ts) as tensors; the caller disposes both. */
export function batchTensors(batch: Batch, imageShape: readonly [number, number, number], classes: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  return {
    xs: tf.tensor4d(batch.pixels, [batch.size, ...imageShape]),
    ys: tf.tensor2d(batch.targets, [batch.size, classes]),
  };
}
