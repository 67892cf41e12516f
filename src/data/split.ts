// Subsets and the stratified train/validation split.
import { mulberry32, shuffleInPlace } from './random.js';
import { DataError, type ImageDataset } from './types.js';

/** A new dataset holding copies of the images at `indices`, in that order. */
export function subsetDataset(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const [n, height, width, channels] = ds.shape;
  const imageLength = height * width * channels;
  const images = new Uint8Array(indices.length * imageLength);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`subsetDataset: index ${index} is outside 0..${n - 1}`);
    images.set(ds.images.subarray(index * imageLength, (index + 1) * imageLength), i * imageLength);
    labels[i] = ds.labels[index];
  }
  return { images, labels, shape: [indices.length, height, width, channels], classNames: ds.classNames, source: ds.source };
}

/** Number of images of each class. */
export function classCounts(ds: ImageDataset): number[] {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  for (const label of ds.labels) counts[label]++;
  return counts;
}

/**
 * Splits off round(count * valFraction) images of every class for validation: at least 1 when
 * valFraction > 0 and the class has >= 2 images, and never the class's last training image.
 * Which images go where is decided by `seed` (an integer); both parts keep the original order.
 * Returns the positions of each part (nothing is copied).
 */
export function stratifiedSplitIndices(labels: ArrayLike<number>, classes: number, valFraction: number, seed: number): { train: Int32Array; val: Int32Array } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new DataError(`validation fraction must be in [0, 1), got ${valFraction}`);
  const random = mulberry32(seed);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const isVal = new Uint8Array(labels.length);
  for (const members of byClass) {
    let valCount = Math.round(members.length * valFraction);
    if (valFraction > 0 && members.length >= 2) valCount = Math.min(Math.max(valCount, 1), members.length - 1);
    shuffleInPlace(members, random);
    for (const i of members.slice(0, valCount)) isVal[i] = 1;
  }
  const train: number[] = [];
  const val: number[] = [];
  isVal.forEach((flag, i) => (flag ? val : train).push(i));
  return { train: Int32Array.from(train), val: Int32Array.from(val) };
}

/** stratifiedSplitIndices, as two new data sets (copies of the images). */
export function stratifiedSplit(ds: ImageDataset, valFraction: number, seed: number): { train: ImageDataset; val: ImageDataset } {
  const { train, val } = stratifiedSplitIndices(ds.labels, ds.classNames.length, valFraction, seed);
  return { train: subsetDataset(ds, train), val: subsetDataset(ds, val) };
}
