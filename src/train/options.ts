// Every knob of a training run, with its unit, its default and its validation. The CLI parses strings
// into this shape; the library (`trainRun`) takes it directly.
import { parsePrecision } from '../engine/precision.js';
import { RESIZE_MODES, type ResizeMode } from '../data/types.js';
import { UserError } from '../errors.js';
import { DEFAULT_RECIPE, findRecipe, recipeNames, RECIPES, type RecipeName } from './recipes.js';
import { validateFinetuneOptions, type FinetuneOptions } from './finetune.js';
import { MAX_EPOCHS, MAX_IMAGE_SIDE } from '../limits.js';

export const OPTIMIZERS = ['adam', 'sgd', 'adamw', 'nesterov'] as const;
export const SCHEDULES = ['constant', 'cosine', 'step', 'linear'] as const;
export const TTA_MODES = ['none', 'flip', 'flip-translate'] as const;
export type TtaMode = (typeof TTA_MODES)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];
export type ScheduleName = (typeof SCHEDULES)[number];

/** Model used when no --data is given: the embedded MNIST digits are 28x28x1, too small for resnet50. */
export const DEFAULT_MNIST_MODEL = 'resnet20';
/** Digits `resnet` alone trains on (of the 10,000 embedded): 2 epochs of resnet20 over these took 3
 *  minutes on a busy 2-core machine (~30 images/s, wasm or native; docs/training.md). --limit 10000 uses all. */
export const DEFAULT_MNIST_LIMIT = 3000;
/** Training images whose batch statistics replace the BN moving averages after each epoch: 32 batches
 *  of 32 cost about a third of an epoch of SIGNS and bring the course ResNet-50 from 0.18 to 0.94 test accuracy. */
export const DEFAULT_BN_RECALIBRATION = 1024;
/** Model used with --data: the course's ResNet-50. */
export const DEFAULT_DATA_MODEL = 'resnet50';

export interface AugmentSettings {
  /** Largest random translation, as a fraction of the image side (0.1 = up to 10% each way). */
  shift: number;
  /** Largest random rotation, in degrees either way. */
  rotation: number;
  /** Largest random brightness offset, added to pixels in [0, 1]. */
  brightness: number;
  /** Largest random contrast change, as a fraction (0.2 = factor in [0.8, 1.2]). */
  contrast: number;
  /** Random horizontal flips (off by default: they change the meaning of digits and hand signs). */
  flip: boolean;
  /** Zero padding, in whole pixels, of the random crops of He et al. (src/data/crop.ts); 0 or absent = off. */
  crop?: number;
}

/** More batch workers than this only compete with the training step for the cores. */
export const MAX_DATA_WORKERS = 16;

/** Largest --augment crop padding, in pixels (the crop itself also needs padding < the image side). */
export const MAX_CROP_PADDING = 64;

export const DEFAULT_AUGMENT: AugmentSettings = { shift: 0.1, rotation: 10, brightness: 0.1, contrast: 0.2, flip: false };

/** Lookahead weight averaging (src/train/lookahead.ts). */
export interface LookaheadSettings {
  /** Optimisation steps between two averaging updates. */
  every: number;
  /** Per-step decay of the average (before the ramp); airbench: 0.95. */
  decay: number;
  /** Exponent of the ramp (step / totalSteps)^power on the decay; airbench: 3. */
  power: number;
  /** First epoch (0-based) with averaging; airbench: 3. */
  start: number;
}

/** airbench94's lookahead values. */
export const DEFAULT_LOOKAHEAD: LookaheadSettings = { every: 5, decay: 0.95, power: 3, start: 3 };

/** FinetuneOptions (finetune.ts): --init, --freeze and the second phase. */
export interface TrainOptions extends FinetuneOptions {
  /** Name of the recipe (src/train/recipes.ts) the defaults came from; explicit options override it.
   *  Absent in run folders written before recipes existed (they ran the course recipe). */
  recipe?: string;
  /** Image folder or HDF5 file; undefined = the embedded MNIST digits. */
  data?: string;
  /** Registry name of the architecture. */
  model: string;
  /** Number of passes over the training split. */
  epochs: number;
  /** Images per optimisation step. */
  batchSize: number;
  /** Peak learning rate (reached after warm-up), in parameter units per gradient unit. */
  lr: number;
  optimizer: OptimizerName;
  /** SGD momentum coefficient (sgd and nesterov only), dimensionless in [0, 1). */
  momentum: number;
  /** adam/sgd/nesterov: L2 coefficient added to kernel gradients; adamw: decoupled decay per step, times lr. */
  weightDecay: number;
  /** sgd/nesterov: learning-rate multiplier of the weights that get no decay (biases, batch-norm
   *  parameters); airbench's bias_scaler. Absent = 1. */
  biasLrScale?: number;
  schedule: ScheduleName;
  /** Epochs of linear warm-up from ~0 to `lr` (may be fractional). */
  warmupEpochs: number;
  /** Label smoothing epsilon in [0, 1): targets become (1 - eps) * onehot + eps / classes. */
  labelSmoothing: number;
  /** Stop after this many epochs without improvement of the monitored metric; 0 = never. */
  earlyStopping: number;
  /** Random augmentation of training batches; null = off. */
  augment: AugmentSettings | null;
  /** Fraction of the data held out for validation (stratified), in [0, 1). */
  valSplit: number;
  /** Seed of the split, the per-epoch shuffles and the augmentation. */
  seed: number;
  /** Output folder. */
  out: string;
  /** Engine: 'native' | 'wasm' | 'cpu' | 'auto'. */
  backend: string;
  /** What the convolutions multiply in: 'float32', or 'bfloat16' mixed precision (native engine). */
  precision: string;
  /** Largest global L2 norm of the gradients of a step (larger ones are scaled down; 0 = off). */
  clipNorm: number;
  /** Training images used to recompute the BatchNormalization statistics after each epoch ("precise
   *  BN", src/train/recalibrate.ts); 0 keeps Keras's moving averages alone. */
  bnRecalibration: number;
  /** A labelled image folder (or .h5 file) evaluated after every epoch and recorded in history.jsonl
   *  (test_loss, test_accuracy): a test set, watched but never used to choose anything. */
  evalData?: string;
  /** --eval-data is evaluated after every N-th epoch and after the last; absent = 1 (every epoch).
   *  Evaluation is part of a timed run (bench/cifar10.sh), so a recipe may evaluate at the end only. */
  evalEvery?: number;
  /** Test-time augmentation of every evaluation: 'flip' averages the predictions of each image and
   *  its mirror image; 'flip-translate' (airbench's level 2) gives that average half the weight and
   *  the four views shifted one pixel diagonally (reflected border) and mirrored the other half;
   *  absent = 'none'. */
  tta?: TtaMode;
  /** Lookahead / weight averaging (src/train/lookahead.ts); null or absent = off. */
  lookahead?: LookaheadSettings | null;
  /** Use only the first N images of the data (after loading); undefined = all. */
  limit?: number;
  /** Resize images to this side, in pixels; undefined = the model's input size (resnet50: 64), else
   *  the data's most common size. */
  imageSize?: number;
  /** How images of another size are resized: 'squash' (default), 'crop' or 'pad' (src/data/types.ts). */
  resize?: ResizeMode;
  /** Folder of the decoded-data cache; undefined = $XDG_CACHE_HOME/resnet-ts; '' = no cache. */
  cacheDir?: string;
  /** Largest decoded data set kept in memory, in MB (2^20 bytes); larger ones stream from the cache
   *  file. undefined = half of the machine's memory. */
  maxMemory?: number;
  /** Worker threads assembling and augmenting batches (src/data/pipeline.ts); undefined = 1; 0 = on
   *  the training thread, between steps (data in memory only). */
  dataWorkers?: number;
}

export function defaultModelFor(data: string | undefined): string {
  return data === undefined ? DEFAULT_MNIST_MODEL : DEFAULT_DATA_MODEL;
}

/** What `resnet` alone (no --data) changes in the recipe so that it finishes in seconds: the
 *  embedded digits are 28x28x1, too small for resnet50 (docs/training.md has the measurement). */
export const MNIST_DEMO = { model: DEFAULT_MNIST_MODEL, epochs: 2, limit: DEFAULT_MNIST_LIMIT } as const;

/**
 * The options of a run on `data` with the recipe `recipe` (default: DEFAULT_RECIPE): the recipe's
 * settings, the data-dependent model, and the general defaults (validation split, seed, engine).
 * Without data the MNIST demo's model, epoch count and image limit apply (MNIST_DEMO).
 */
export function defaultOptions(data?: string, recipe: string = DEFAULT_RECIPE): TrainOptions {
  const found = findRecipe(recipe);
  if (!found) throw new UserError(`--recipe must be one of ${recipeNames().join(', ')}, got '${recipe}'`);
  const settings = { ...found.settings, augment: found.settings.augment && { ...found.settings.augment } };
  const o: TrainOptions = {
    recipe,
    data,
    model: defaultModelFor(data),
    ...settings,
    valSplit: 0.1,
    seed: 0,
    out: defaultOutDir(),
    backend: 'auto',
    precision: 'float32',
    bnRecalibration: DEFAULT_BN_RECALIBRATION,
  };
  if (data === undefined) Object.assign(o, MNIST_DEMO, { warmupEpochs: Math.min(o.warmupEpochs, MNIST_DEMO.epochs) });
  return o;
}

export { RECIPES, DEFAULT_RECIPE, type RecipeName };

export function defaultOutDir(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `runs/train-${stamp}`;
}

/** Throws a UserError naming the first option that is out of range. */
export function validateOptions(o: TrainOptions): void {
  const bad = (msg: string): never => {
    throw new UserError(msg);
  };
  checkOptionTypes(o);
  if (o.recipe !== undefined && !findRecipe(o.recipe)) bad(`--recipe must be one of ${recipeNames().join(', ')}, got '${o.recipe}'`);
  if (!Number.isInteger(o.epochs) || o.epochs <= 0) bad(`--epochs must be a positive integer, got '${o.epochs}'`);
  if (o.epochs > MAX_EPOCHS) bad(`--epochs must be at most ${MAX_EPOCHS}, got '${o.epochs}'`);
  if (!Number.isInteger(o.batchSize) || o.batchSize <= 0) bad(`--batch-size must be a positive integer, got '${o.batchSize}'`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) bad(`--lr must be a positive number, got '${o.lr}'`);
  if (!(OPTIMIZERS as readonly string[]).includes(o.optimizer))
    bad(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got '${o.optimizer}'`);
  if (!(o.momentum >= 0 && o.momentum < 1)) bad(`--momentum must be in [0, 1), got '${o.momentum}'`);
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) bad(`--weight-decay must be >= 0, got '${o.weightDecay}'`);
  if (!(SCHEDULES as readonly string[]).includes(o.schedule))
    bad(`--schedule must be one of ${SCHEDULES.join(', ')}, got '${o.schedule}'`);
  if (!(o.warmupEpochs >= 0 && o.warmupEpochs <= o.epochs))
    bad(`--warmup-epochs must be in [0, epochs=${o.epochs}], got '${o.warmupEpochs}'`);
  if (!(o.labelSmoothing >= 0 && o.labelSmoothing < 1)) bad(`--label-smoothing must be in [0, 1), got '${o.labelSmoothing}'`);
  if (!Number.isInteger(o.earlyStopping) || o.earlyStopping < 0)
    bad(`--early-stopping must be a non-negative integer (patience in epochs), got '${o.earlyStopping}'`);
  if (!(o.valSplit >= 0 && o.valSplit < 1)) bad(`--val-split must be in [0, 1), got '${o.valSplit}'`);
  if (!Number.isInteger(o.seed) || o.seed < 0) bad(`--seed must be a non-negative integer, got '${o.seed}'`);
  if (!(o.clipNorm >= 0 && Number.isFinite(o.clipNorm))) bad(`--clip-norm must be a non-negative number (0 = off), got '${o.clipNorm}'`);
  parsePrecision(o.precision);
  if (!Number.isInteger(o.bnRecalibration) || o.bnRecalibration < 0)
    bad(`--bn-recalibration must be a non-negative integer (images; 0 = off), got '${o.bnRecalibration}'`);
  if (o.augment && !(Number.isInteger(o.augment.crop ?? 0) && (o.augment.crop ?? 0) >= 0 && (o.augment.crop ?? 0) <= MAX_CROP_PADDING))
    bad(`--augment crop must be a whole number of pixels in [0, ${MAX_CROP_PADDING}], got '${o.augment.crop}'`);
  if (o.biasLrScale !== undefined && !(o.biasLrScale > 0 && Number.isFinite(o.biasLrScale)))
    bad(`--bias-lr-scale must be a positive number, got '${o.biasLrScale}'`);
  if ((o.biasLrScale ?? 1) !== 1 && o.optimizer !== 'sgd' && o.optimizer !== 'nesterov')
    bad(`--bias-lr-scale applies to the sgd and nesterov optimizers, not ${o.optimizer}`);
  if (o.evalEvery !== undefined && !(Number.isInteger(o.evalEvery) && o.evalEvery >= 1 && o.evalEvery <= MAX_EPOCHS))
    bad(`--eval-every must be a whole number of epochs in [1, ${MAX_EPOCHS}], got '${o.evalEvery}'`);
  if (o.evalEvery !== undefined && o.evalData === undefined) bad('--eval-every needs --eval-data (the test set it spaces out)');
  if (o.tta !== undefined && !(TTA_MODES as readonly string[]).includes(o.tta)) bad(`--tta must be one of ${TTA_MODES.join(', ')}, got '${o.tta}'`);
  if (o.lookahead) {
    const { every, decay, power, start } = o.lookahead;
    if (!Number.isInteger(every) || every < 1) bad(`--lookahead every must be a positive integer (steps), got '${every}'`);
    if (!(decay >= 0 && decay < 1)) bad(`--lookahead decay must be in [0, 1), got '${decay}'`);
    if (!(power >= 0 && Number.isFinite(power))) bad(`--lookahead power must be >= 0, got '${power}'`);
    if (!Number.isInteger(start) || start < 0) bad(`--lookahead start must be a non-negative integer (epochs), got '${start}'`);
  }
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit <= 0))
    bad(`--limit must be a positive integer, got '${o.limit}'`);
  if (o.imageSize !== undefined && (!Number.isInteger(o.imageSize) || o.imageSize <= 0 || o.imageSize > MAX_IMAGE_SIDE))
    bad(`--image-size must be a whole number of pixels from 1 to ${MAX_IMAGE_SIDE}, got '${o.imageSize}'`);
  if (o.resize !== undefined && !(RESIZE_MODES as readonly string[]).includes(o.resize))
    bad(`--resize must be one of ${RESIZE_MODES.join(', ')}, got '${o.resize}'`);
  if (o.maxMemory !== undefined && !(o.maxMemory > 0 && Number.isFinite(o.maxMemory)))
    bad(`--max-memory must be a positive number of megabytes, got '${o.maxMemory}'`);
  if (o.dataWorkers !== undefined && !(Number.isInteger(o.dataWorkers) && o.dataWorkers >= 0 && o.dataWorkers <= MAX_DATA_WORKERS))
    bad(`--data-workers must be an integer from 0 to ${MAX_DATA_WORKERS}, got '${o.dataWorkers}'`);
  validateFinetuneOptions(o);
}

const NUMBER_OPTIONS = ['epochs', 'batchSize', 'lr', 'momentum', 'weightDecay', 'warmupEpochs', 'labelSmoothing', 'earlyStopping', 'valSplit', 'seed', 'clipNorm', 'bnRecalibration'] as const;
const STRING_OPTIONS = ['model', 'optimizer', 'schedule', 'out', 'backend', 'precision'] as const;
const flag = (key: string) => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** Options that come from a file (a resumed run's config.json) may hold anything: check the types first. */
function checkOptionTypes(o: TrainOptions): void {
  if (typeof o !== 'object' || o === null) throw new UserError('the training options are not an object');
  const bad = (key: string, value: unknown, what: string): never => {
    throw new UserError(`${flag(key)} must be ${what}, got ${JSON.stringify(value)?.slice(0, 100) ?? typeof value}`);
  };
  for (const key of NUMBER_OPTIONS) if (typeof o[key] !== 'number') bad(key, o[key], 'a number');
  for (const key of STRING_OPTIONS) if (typeof o[key] !== 'string' || o[key] === '' || o[key].includes('\0')) bad(key, o[key], 'a non-empty string');
  if (o.data !== undefined && (typeof o.data !== 'string' || o.data === '' || o.data.includes('\0'))) bad('data', o.data, 'a path');
  for (const key of ['limit', 'imageSize', 'maxMemory', 'dataWorkers'] as const) if (o[key] !== undefined && typeof o[key] !== 'number') bad(key, o[key], 'a number');
  for (const key of ['recipe', 'resize', 'cacheDir'] as const) if (o[key] !== undefined && (typeof o[key] !== 'string' || o[key].includes('\0'))) bad(key, o[key], 'a string');
  if (o.augment !== null && o.augment !== undefined) {
    const a = o.augment as unknown as Record<string, unknown>;
    if (typeof a !== 'object' || !['shift', 'rotation', 'brightness', 'contrast'].every((k) => typeof a[k] === 'number' && Number.isFinite(a[k]) && (a[k] as number) >= 0) || typeof a.flip !== 'boolean') {
      bad('augment', o.augment, 'augmentation settings (shift, rotation, brightness, contrast, flip)');
    }
  }
}
