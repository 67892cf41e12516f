// Inference over a whole data set in batches: loss, accuracy, predictions and the confusion matrix.
import * as tf from '../tf.js';
import { levelsToUnit } from '../data/assemble.js';
import { plainRequests, range, type BatchSource } from '../data/source.js';
import { mirrorImages, shiftImages } from '../data/crop.js';
import type { ImageDataset } from '../data/types.js';
import { UserError } from '../errors.js';
import { predictWithInference, type InferenceOptions } from '../infer/compile.js';
import { FLOOR } from './loss.js';
import type { TtaMode } from './options.js';
import { confusionMatrix, metricsFromConfusion, type ClassMetrics } from './metrics.js';

export interface Evaluation extends ClassMetrics {
  /** Mean categorical cross-entropy against one-hot labels (no smoothing), nats per image. */
  loss: number;
  /** Predicted class of each image. */
  predicted: Int32Array;
  /** confusion[true][predicted] = count. */
  confusion: number[][];
}

/**
 * Class probabilities of images [n, h, w, c] (NHWC: float32 pixels in [0, 1], or 8-bit levels that are
 * divided by 255 batch by batch), batch by batch in inference mode, through the model's compiled
 * inference form (src/infer/: folded batch norm, fused kernels; `inference` picks the precision).
 * tta 'flip' averages each image's probabilities with those of its mirror image; 'flip-translate'
 * gives that average half the weight and the mirror-averages of the image shifted one pixel down-right
 * and one up-left (reflected border) a quarter each (airbench94's level 2, which averages logits;
 * probabilities here, as 'flip' does).
 */
export function predictProbabilities(model: tf.LayersModel, images: Float32Array | Uint8Array, shape: [number, number, number, number], batchSize: number,
  inference: InferenceOptions = {}, tta: TtaMode = 'none'): Float32Array {
  const [n, h, w, c] = shape;
  const imageLength = h * w * c;
  let out: Float32Array | null = null;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const slice = images.subarray(start * imageLength, end * imageLength);
    let pixels: Float32Array;
    if (slice instanceof Float32Array) pixels = slice;
    else levelsToUnit(slice, (pixels = new Float32Array(slice.length)));
    const probs = predictBatch(model, pixels, [end - start, h, w, c], inference, tta);
    const classes = probs.length / (end - start);
    out ??= new Float32Array(n * classes);
    out.set(probs, start * classes);
  }
  return out ?? new Float32Array(0);
}

/**
 * The model's class probabilities for one batch of float32 pixels (its compiled inference form, the
 * whole batch in one call), averaged over the views `tta` asks for (see predictProbabilities).
 */
function predictBatch(model: tf.LayersModel, pixels: Float32Array, shape: [number, number, number, number], inference: InferenceOptions = {}, tta: TtaMode = 'none'): Float32Array {
  const predict = (view: Float32Array) => predictWithInference(model, tf.tensor4d(view, shape), inference);
  // Mirrored and shifted in JavaScript: the cpu backend's Reverse kernel took 3 s for 1024 CIFAR images.
  const withMirror = (view: Float32Array) => tf.mul(tf.add(predict(view), predict(mirrorImages(view, shape))), 0.5);
  const probs = tf.tidy(() => {
    if (tta === 'none') return predict(pixels);
    if (tta === 'flip') return withMirror(pixels);
    const shifted = tf.add(withMirror(shiftImages(pixels, shape, 1, 1)), withMirror(shiftImages(pixels, shape, -1, -1)));
    return tf.add(tf.mul(withMirror(pixels), 0.5), tf.mul(shifted, 0.25));
  });
  const values = probs.dataSync() as Float32Array;
  probs.dispose();
  return values;
}

/** Loss, predictions and confusion matrix from probabilities [n, outputs] and true labels. */
function score(probs: Float32Array, labels: ArrayLike<number>, classes: number): Evaluation {
  const n = labels.length;
  const outputs = n === 0 ? classes : probs.length / n;
  const predicted = new Int32Array(n);
  let lossSum = 0;
  for (let i = 0; i < n; i++) {
    const row = probs.subarray(i * outputs, (i + 1) * outputs);
    let best = 0;
    for (let k = 1; k < outputs; k++) if (row[k] > row[best]) best = k;
    predicted[i] = best;
    lossSum -= Math.log(Math.max(FLOOR, row[labels[i]])); // the training loss's floor (loss.ts)
  }
  const confusion = confusionMatrix(labels, predicted, Math.max(classes, outputs));
  return { loss: n === 0 ? 0 : lossSum / n, predicted, confusion, ...metricsFromConfusion(confusion) };
}

/** Evaluates `model` on `ds` (tta: see predictProbabilities); `ds.labels` must index the model's outputs. */
export function evaluateModel(
  model: tf.LayersModel,
  ds: Pick<ImageDataset, 'labels' | 'shape' | 'classNames'> & { images: Float32Array | Uint8Array },
  batchSize = 64,
  inference: InferenceOptions = {},
  tta: TtaMode = 'none',
): Evaluation {
  return score(predictProbabilities(model, ds.images, ds.shape, batchSize, inference, tta), ds.labels, ds.classNames.length);
}

/** evaluateModel over a batch source (every image, in order; tta: see predictProbabilities); its labels must index the model's outputs. */
export async function evaluateSource(
  model: tf.LayersModel,
  source: BatchSource,
  batchSize = 64,
  inference: InferenceOptions = {},
  tta: TtaMode = 'none',
): Promise<Evaluation> {
  const [h, w, c] = source.imageShape;
  let probs: Float32Array | null = null;
  let done = 0;
  for await (const batch of source.batches(plainRequests(range(source.size), batchSize))) {
    const values = predictBatch(model, batch.pixels, [batch.size, h, w, c], inference, tta);
    const classes = values.length / batch.size;
    probs ??= new Float32Array(source.size * classes);
    probs.set(values, done * classes);
    done += batch.size;
  }
  return score(probs ?? new Float32Array(0), source.labels, source.classNames.length);
}

/**
 * Re-labels `ds` in the model's class order, matching classes by name (a test set may lack some
 * classes, or list them in another order). Throws a UserError when a data class is unknown to the model.
 */
export function alignClasses<T extends Pick<ImageDataset, 'labels' | 'classNames'>>(ds: T, modelClasses: string[]): T {
  if (ds.classNames.length === modelClasses.length && ds.classNames.every((name, i) => name === modelClasses[i])) return ds;
  const unknown = ds.classNames.filter((name) => !modelClasses.includes(name));
  if (unknown.length > 0) {
    throw new UserError(
      `the data's classes [${ds.classNames.join(', ')}] are not all among the model's [${modelClasses.join(', ')}] (unknown: ${unknown.join(', ')})`,
    );
  }
  const mapping = ds.classNames.map((name) => modelClasses.indexOf(name));
  return { ...ds, labels: Int32Array.from(ds.labels, (l) => mapping[l]), classNames: modelClasses };
}
