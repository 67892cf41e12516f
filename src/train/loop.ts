// The training loop: seeded per-epoch shuffles, optional augmentation, one optimiser step per batch
// (tf.variableGrads + our optimiser), optional lookahead averaging, validation (and a watched test
// set) after every epoch, early stopping, and a callback
// that writes checkpoints. Everything random is a function of (seed, epoch, step), so a resumed run
// replays exactly the batches an uninterrupted one would have seen.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { shuffledIndices } from '../data/random.js';
import type { BatchRequest, BatchSource } from '../data/source.js';
import type { EpochRecord } from '../plot/curves.js';
import { evaluateSource } from './evaluate.js';
import { correctCount, crossEntropy } from './loss.js';
import type { TrainOptions } from './options.js';
import type { TrainOptimizer } from './optimizer.js';
import type { Progress } from './progress.js';
import { learningRateAt } from './schedule.js';
import { clipByGlobalNorm } from './clip.js';
import { recalibrateBatchNorm } from './recalibrate.js';
import { Lookahead } from './lookahead.js';

/** Mixes integers into one 32-bit seed (FNV-1a over their 32-bit words), so that nearby
 *  (epoch, step) pairs get unrelated random streams. */
export function seedFor(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    let v = part >>> 0;
    for (let byte = 0; byte < 4; byte++) {
      h = Math.imul(h ^ (v & 0xff), 0x01000193) >>> 0;
      v >>>= 8;
    }
  }
  return h;
}

/** What the loop has done so far; saved in every checkpoint (state.json). */
export interface LoopState {
  /** Epochs completed. */
  epoch: number;
  /** Best monitored result so far (see `isBetter`) and the epoch (1-based) that reached it. */
  best: { accuracy: number; loss: number } | null;
  bestEpoch: number;
  /** Consecutive epochs without improvement, for early stopping. */
  epochsWithoutImprovement: number;
  /** One record per completed epoch. */
  history: EpochRecord[];
}

export function freshState(): LoopState {
  return { epoch: 0, best: null, bestEpoch: 0, epochsWithoutImprovement: 0, history: [] };
}

/** The monitored result: validation accuracy (ties: lower validation loss); without a validation
 *  split, the same on the training metrics. */
export function monitored(r: EpochRecord): { accuracy: number; loss: number } {
  return r.val_accuracy !== null && r.val_loss !== null ? { accuracy: r.val_accuracy, loss: r.val_loss } : { accuracy: r.accuracy, loss: r.loss };
}

export function isBetter(a: { accuracy: number; loss: number }, b: { accuracy: number; loss: number } | null): boolean {
  return b === null || a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.loss < b.loss);
}

export function earlyStopped(state: LoopState, patience: number): boolean {
  return patience > 0 && state.epochsWithoutImprovement >= patience;
}

export interface LoopContext {
  model: tf.LayersModel;
  optimizer: TrainOptimizer;
  /** Where the batches come from (src/data/source.ts): in memory, or the Node worker pipeline. */
  train: BatchSource;
  val: BatchSource | null;
  /** Evaluated after every epoch (or every --eval-every-th and the last) and recorded (test_loss, test_accuracy); never monitored. */
  test?: BatchSource | null;
  options: TrainOptions;
  state: LoopState;
  progress: Progress;
  /** Called after each epoch with the updated state; `improved` when this epoch is the new best. */
  onEpochEnd(state: LoopState, improved: boolean): Promise<void>;
  /** Stop (as if killed) after this many epochs in this call; for tests of --resume. */
  stopAfterEpochs?: number;
}

/** Which of the model's trainable weights get weight decay (trainStep's `decayed`): kernels (conv and
 *  dense weights) do; biases and BatchNormalization parameters do not. */
export function decayedWeights(model: tf.LayersModel): boolean[] {
  return model.trainableWeights.map((w) => /kernel$/.test(w.originalName));
}

/**
 * One optimisation step on a batch; returns the batch's mean loss and its number of correct
 * predictions. clipNorm > 0 clips the gradients to that global L2 norm first (clip.ts).
 */
export function trainStep(
  model: tf.LayersModel,
  optimizer: TrainOptimizer,
  xs: tf.Tensor,
  ys: tf.Tensor,
  decayed: boolean[],
  clipNorm = 0,
): { loss: tf.Scalar; correct: tf.Scalar } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let correct: tf.Scalar | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const probs = model.apply(xs, { training: true }) as tf.Tensor;
    correct = tf.keep(correctCount(ys, probs));
    return crossEntropy(ys, probs);
  }, vars);
  const present = vars.map((v, i) => ({ v, g: grads[v.name], decay: decayed[i] })).filter((p) => p.g !== undefined);
  const gradients = present.map((p) => p.g);
  const { clipped } = clipNorm > 0 ? clipByGlobalNorm(gradients, clipNorm) : { clipped: gradients };
  optimizer.step(present.map((p) => p.v), clipped, present.map((p) => p.decay));
  if (clipped !== gradients) tf.dispose(clipped);
  tf.dispose(grads);
  return { loss: value, correct: correct! };
}

/** The batches of epoch `epoch` (0-based) over `n` training images: a seeded shuffle, then
 *  consecutive slices, each with its own augmentation seed. A pure function of (options, epoch). */
export function* epochRequests(options: TrainOptions, epoch: number, n: number): Generator<BatchRequest> {
  const order = shuffledIndices(n, seedFor(options.seed, epoch));
  for (let step = 0; step * options.batchSize < n; step++) {
    yield {
      indices: order.subarray(step * options.batchSize, Math.min(n, (step + 1) * options.batchSize)),
      labelSmoothing: options.labelSmoothing,
      augment: options.augment ? { options: options.augment, seed: seedFor(options.seed, epoch, step, 1) } : null,
    };
  }
}

/** Runs epochs state.epoch+1 .. options.epochs (or until early stopping); returns why it ended. */
export async function runEpochs(ctx: LoopContext): Promise<'completed' | 'early-stopped' | 'interrupted'> {
  const { model, optimizer, train, val, options, state, progress } = ctx;
  const n = train.size;
  const stepsPerEpoch = Math.ceil(n / options.batchSize);
  const [h, w, c] = train.imageShape;
  const classes = train.classNames.length;
  const decayed = decayedWeights(model);
  let epochsThisCall = 0;
  while (state.epoch < options.epochs) {
    if (earlyStopped(state, options.earlyStopping)) return 'early-stopped';
    if (ctx.stopAfterEpochs !== undefined && epochsThisCall >= ctx.stopAfterEpochs) return 'interrupted';
    const epoch = state.epoch; // 0-based index of the epoch being run
    const started = performance.now();
    progress.startEpoch(epoch + 1, options.epochs, stepsPerEpoch);
    let lossSum = 0;
    let correctSum = 0;
    let seen = 0;
    let lr = options.lr;
    const lookahead = options.lookahead && epoch >= options.lookahead.start ? new Lookahead(model, options.lookahead) : null;
    let step = 0;
    for await (const batch of train.batches(epochRequests(options, epoch, n))) {
      const xs = tf.tensor4d(batch.pixels, [batch.size, h, w, c]);
      const ys = tf.tensor2d(batch.targets, [batch.size, classes]);
      lr = learningRateAt(options, epoch, step, stepsPerEpoch);
      optimizer.setLearningRate(lr);
      const { loss, correct } = trainStep(model, optimizer, xs, ys, decayed, options.clipNorm ?? 0);
      const [lossValue, correctValue] = [(await loss.data())[0], (await correct.data())[0]];
      tf.dispose([xs, ys, loss, correct]);
      if (!Number.isFinite(lossValue)) throw new UserError(`training diverged: loss is ${lossValue} at epoch ${epoch + 1}, step ${step + 1} (try a lower --lr)`);
      lossSum += lossValue * batch.size;
      correctSum += correctValue;
      seen += batch.size;
      step++;
      progress.step(step, lossSum / seen, correctSum / seen);
      lookahead?.afterStep(epoch * stepsPerEpoch + step, options.epochs * stepsPerEpoch);
    }
    lookahead?.finish();
    // Old run folders (before this option existed) resume with the moving averages alone.
    await recalibrateBatchNorm(model, train, options.bnRecalibration ?? 0, options.batchSize, seedFor(options.seed, epoch, 2));
    const evalStarted = performance.now();
    const evalBatch = Math.max(options.batchSize, 64);
    const tta = options.tta ?? 'none';
    const evaluation = val && val.size > 0 ? await evaluateSource(model, val, evalBatch, {}, tta) : null;
    // The test set after every --eval-every-th epoch and after the last one.
    const testNow = (epoch + 1) % (options.evalEvery ?? 1) === 0 || epoch + 1 === options.epochs;
    const test = testNow && ctx.test && ctx.test.size > 0 ? await evaluateSource(model, ctx.test, evalBatch, {}, tta) : null;
    const record: EpochRecord = {
      epoch: epoch + 1,
      loss: lossSum / seen,
      accuracy: correctSum / seen,
      val_loss: evaluation ? evaluation.loss : null,
      val_accuracy: evaluation ? evaluation.accuracy : null,
      lr,
      seconds: (performance.now() - started) / 1000,
      ...(test ? { test_loss: test.loss, test_accuracy: test.accuracy } : {}),
      eval_seconds: (performance.now() - evalStarted) / 1000,
      elapsed: performance.now() / 1000,
    };
    const score = monitored(record);
    const improved = isBetter(score, state.best);
    state.epoch = epoch + 1;
    state.history.push(record);
    if (improved) {
      state.best = score;
      state.bestEpoch = epoch + 1;
      state.epochsWithoutImprovement = 0;
    } else {
      state.epochsWithoutImprovement++;
    }
    await ctx.onEpochEnd(state, improved);
    progress.endEpoch(record, improved ? '  (best)' : '');
    epochsThisCall++;
  }
  return earlyStopped(state, options.earlyStopping) ? 'early-stopped' : 'completed';
}
