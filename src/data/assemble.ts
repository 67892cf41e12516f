// Batch assembly in plain JavaScript, with no tensors and no TensorFlow.js import: 8-bit pixels in,
// float32 pixels / 255 (optionally augmented) and one-hot targets out. The in-memory batch source
// runs it on the calling thread, the Node batch workers (pipeline-worker.ts) off it; both give the
// same numbers, so where a batch was assembled never changes a run.
import { augmentPixels, type AugmentOptions } from './augment-pixels.js';

/** What a batch is made of; everything random in it is fixed by `augment.seed`. */
export interface BatchRequest {
  /** Positions of the batch's images in the source (0 .. size - 1), in batch order. */
  indices: ArrayLike<number>;
  /** Label smoothing ls in [0, 1): targets become onehot * (1 - ls) + ls / classes. */
  labelSmoothing?: number;
  /** Random augmentation of every image (augment-pixels.ts), seeded; null or absent = none. */
  augment?: { options: AugmentOptions; seed: number } | null;
}

/** An assembled batch: plain arrays, ready to become tensors (or be posted between threads). */
export interface Batch {
  /** NHWC float32 in [0, 1], size * height * width * channels. */
  pixels: Float32Array;
  /** One-hot (smoothed) targets, size * classes. */
  targets: Float32Array;
  /** Class index of each image. */
  labels: Int32Array;
  /** Images in the batch. */
  size: number;
}

/** Writes 8-bit levels / 255 into `out` from `offset` (the one conversion every reader and batch uses). */
export function levelsToUnit(levels: Uint8Array, out: Float32Array, offset = 0): void {
  for (let i = 0; i < levels.length; i++) out[offset + i] = levels[i] / 255;
}

/** Copies the images at `indices` (store positions) of an NHWC 8-bit block into one new block. */
export function gatherImages(images: Uint8Array, imageLength: number, indices: ArrayLike<number>): Uint8Array {
  const n = images.length / imageLength;
  const out = new Uint8Array(indices.length * imageLength);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`batch index ${index} is outside 0..${n - 1}`);
    out.set(images.subarray(index * imageLength, (index + 1) * imageLength), i * imageLength);
  }
  return out;
}

/**
 * The batch of `levels` (the batch's images, 8-bit NHWC, in order) with their `labels`: pixels / 255,
 * augmented when asked, and one-hot targets over `classes` with the request's label smoothing.
 */
export function assembleBatch(
  levels: Uint8Array,
  labels: Int32Array,
  imageShape: readonly [number, number, number],
  classes: number,
  request: Omit<BatchRequest, 'indices'>,
): Batch {
  const smoothing = request.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) throw new RangeError(`labelSmoothing must be in [0, 1), got ${smoothing}`);
  const size = labels.length;
  let pixels: Float32Array = new Float32Array(levels.length);
  levelsToUnit(levels, pixels);
  if (request.augment) pixels = augmentPixels(pixels, [size, ...imageShape], request.augment.options, request.augment.seed);
  const targets = new Float32Array(size * classes).fill(smoothing / classes);
  for (let i = 0; i < size; i++) targets[i * classes + labels[i]] = 1 - smoothing + smoothing / classes;
  return { pixels, targets, labels, size };
}
