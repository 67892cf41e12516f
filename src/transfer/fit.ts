// Training the top of a fine-tuning classifier on cached features: the training loop's own step
// (trainStep: tf.variableGrads + the optimiser) over seeded shuffles, a held-out part of every class
// for evaluation, progress after every step, and a stop that takes effect after the current step.
// Every tensor is freed as it goes: tf.memory() ends where it started.
import * as tf from '../tf.js';
import { shuffledIndices, stratifiedSplitIndices } from '../data/index.js';
import { evaluateModel, type Evaluation } from '../train/evaluate.js';
import type { FeatureSet } from './features.js';
import { seedFor, trainStep } from '../train/loop.js';
import { makeOptimizer } from '../train/optimizer.js';

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /** Adam's learning rate. */
  lr: number;
  /** Fraction of every class's photos held out for evaluation, in [0, 1). */
  holdout: number;
  seed: number;
}

export const DEFAULT_FIT: FitOptions = { epochs: 10, batchSize: 16, lr: 1e-3, holdout: 0.2, seed: 0 };

export interface StepReport {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Loss and accuracy of this batch. */
  loss: number;
  accuracy: number;
}

export interface EpochReport {
  epoch: number;
  /** Mean training loss and accuracy over the epoch. */
  loss: number;
  accuracy: number;
  /** On the held-out photos (null without any). */
  holdoutLoss: number | null;
  holdoutAccuracy: number | null;
}

export interface FitHooks {
  onStep?(report: StepReport): void | Promise<void>;
  onEpoch?(report: EpochReport): void | Promise<void>;
  /** Checked before every step; true stops training after the current one. */
  shouldStop?(): boolean;
}

export interface FitResult {
  epochs: EpochReport[];
  /** Evaluation of the final model on the held-out photos (null without any). */
  holdout: Evaluation | null;
  trainCount: number;
  holdoutCount: number;
  stopped: boolean;
}

/** Trains `top` on `data` (features and labels); resolves when done or stopped. */
export async function fitClassifier(top: tf.LayersModel, data: FeatureSet, options: FitOptions = DEFAULT_FIT, hooks: FitHooks = {}): Promise<FitResult> {
  const split = options.holdout > 0 ? stratifiedSplitIndices(data.labels, data.classNames.length, options.holdout, options.seed) : null;
  const train = split ? subset(data, split.train) : data;
  const val = split ? subset(data, split.val) : null;
  const n = train.shape[0];
  if (n === 0) throw new RangeError('no photos to train on');
  const held = val && val.shape[0] > 0 ? val : null;
  const optimizer = makeOptimizer('adam', options.lr, 0, 0);
  const decayed = top.trainableWeights.map(() => false);
  const steps = Math.ceil(n / options.batchSize);
  const epochs: EpochReport[] = [];
  let stopped = false;
  try {
    for (let epoch = 0; epoch < options.epochs && !stopped; epoch++) {
      const order = shuffledIndices(n, seedFor(options.seed, epoch));
      let lossSum = 0;
      let correctSum = 0;
      let seen = 0;
      for (let step = 0; step < steps; step++) {
        if (hooks.shouldStop?.()) {
          stopped = true;
          break;
        }
        const indices = order.subarray(step * options.batchSize, Math.min(n, (step + 1) * options.batchSize));
        const { xs, ys } = featureBatch(train, indices);
        const { loss, correct } = trainStep(top, optimizer, xs, ys, decayed);
        const [lossValue, correctValue] = [(await loss.data())[0], (await correct.data())[0]];
        tf.dispose([xs, ys, loss, correct]);
        lossSum += lossValue * indices.length;
        correctSum += correctValue;
        seen += indices.length;
        await hooks.onStep?.({ epoch: epoch + 1, epochs: options.epochs, step: step + 1, steps, loss: lossValue, accuracy: correctValue / indices.length });
      }
      if (seen === 0) break;
      const evaluation = held ? evaluateFeatures(top, held, Math.max(options.batchSize, 64)) : null;
      const report = { epoch: epoch + 1, loss: lossSum / seen, accuracy: correctSum / seen, holdoutLoss: evaluation?.loss ?? null, holdoutAccuracy: evaluation?.accuracy ?? null };
      epochs.push(report);
      await hooks.onEpoch?.(report);
    }
  } finally {
    optimizer.dispose();
  }
  const holdout = held ? evaluateFeatures(top, held, Math.max(options.batchSize, 64)) : null;
  return { epochs, holdout, trainCount: n, holdoutCount: held?.shape[0] ?? 0, stopped };
}

function rowLength(set: FeatureSet): number {
  return set.shape[1] * set.shape[2] * set.shape[3];
}

/** The rows of `set` at `indices`, in that order. */
function subset(set: FeatureSet, indices: ArrayLike<number>): FeatureSet {
  const row = rowLength(set);
  const features = new Float32Array(indices.length * row);
  for (let i = 0; i < indices.length; i++) features.set(set.features.subarray(indices[i] * row, (indices[i] + 1) * row), i * row);
  return { features, labels: Int32Array.from(indices, (i) => set.labels[i]), shape: [indices.length, set.shape[1], set.shape[2], set.shape[3]], classNames: set.classNames };
}

/** Features [b, ...featureShape] and one-hot targets [b, classes] of the rows at `indices`; the caller disposes both. */
function featureBatch(set: FeatureSet, indices: ArrayLike<number>): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const rows = subset(set, indices);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(rows.labels, 'int32'), set.classNames.length), 'float32') as tf.Tensor2D);
  return { xs: tf.tensor4d(rows.features, rows.shape), ys };
}

function evaluateFeatures(top: tf.LayersModel, set: FeatureSet, batchSize: number): Evaluation {
  return evaluateModel(top, { images: set.features, labels: set.labels, shape: set.shape, classNames: set.classNames }, batchSize);
}
