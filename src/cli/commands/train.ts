// `resnet train`: trains a model on an image folder, an HDF5 file or the embedded MNIST digits, and
// writes a run folder (model, checkpoints, history, curves). `resnet` alone runs it with defaults.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { action, fail } from '../run.js';
import { DEFAULT_LOOKAHEAD, type LookaheadSettings } from '../../train/options.js';
import { DEFAULT_AUGMENT, DEFAULT_BN_RECALIBRATION, DEFAULT_DATA_MODEL, DEFAULT_MNIST_MODEL, defaultOptions, type AugmentSettings, type TrainOptions } from '../../train/options.js';
import type { ResumeOverrides } from '../../train/run.js';

export interface TrainFlags {
  data?: string;
  model?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  optimizer?: string;
  momentum?: string;
  weightDecay?: string;
  schedule?: string;
  warmupEpochs?: string;
  labelSmoothing?: string;
  clipNorm?: string;
  earlyStopping?: string;
  augment?: string | boolean;
  valSplit?: string;
  seed?: string;
  out?: string;
  backend?: string;
  precision?: string;
  resume?: string;
  limit?: string;
  imageSize?: string;
  bnRecalibration?: string;
  evalData?: string;
  tta?: string;
  biasLrScale?: string;
  lookahead?: string | boolean;
}

/** A number option (ranges are checked by validateOptions, which names the option). */
function num(flag: string, value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) fail(`--${flag} must be a number, got '${value}'`);
  return n;
}

/** `--augment` alone: the defaults; `--augment shift=0.1,rotation=15,flip` overrides some of them. */
export function parseAugment(value: string | boolean): AugmentSettings {
  const settings = { ...DEFAULT_AUGMENT };
  if (value === true) return settings;
  for (const part of String(value).split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, raw] = part.split('=');
    if (key === 'flip') settings.flip = raw === undefined || raw === 'true' || raw === '1';
    else if (key === 'crop') {
      const n = raw === undefined ? NaN : Number(raw);
      if (!Number.isInteger(n) || n < 0) fail(`--augment crop must be a whole number of pixels, got '${raw ?? ''}'`);
      settings.crop = n;
    } else if (key === 'shift' || key === 'rotation' || key === 'brightness' || key === 'contrast') {
      const n = raw === undefined ? NaN : Number(raw);
      if (!Number.isFinite(n) || n < 0) fail(`--augment ${key} must be a non-negative number, got '${raw ?? ''}'`);
      settings[key] = n;
    } else fail(`--augment: unknown setting '${key}' (known: shift, rotation, brightness, contrast, flip, crop)`);
  }
  return settings;
}

/** `--lookahead` alone: airbench's values; `--lookahead every=5,decay=0.95,power=3,start=3` overrides some. */
export function parseLookahead(value: string | boolean): LookaheadSettings {
  const settings = { ...DEFAULT_LOOKAHEAD };
  if (value === true) return settings;
  for (const part of String(value).split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, raw] = part.split('=');
    if (key !== 'every' && key !== 'decay' && key !== 'power' && key !== 'start') fail(`--lookahead: unknown setting '${key}' (known: every, decay, power, start)`);
    settings[key] = num(`lookahead ${key}`, raw ?? '');
  }
  return settings;
}

export function optionsFromFlags(f: TrainFlags): TrainOptions {
  const o = defaultOptions(f.data);
  if (f.model !== undefined) o.model = f.model;
  if (f.epochs !== undefined) o.epochs = num('epochs', f.epochs);
  if (f.batchSize !== undefined) o.batchSize = num('batch-size', f.batchSize);
  if (f.lr !== undefined) o.lr = num('lr', f.lr);
  if (f.optimizer !== undefined) o.optimizer = f.optimizer as TrainOptions['optimizer'];
  if (f.momentum !== undefined) o.momentum = num('momentum', f.momentum);
  if (f.weightDecay !== undefined) o.weightDecay = num('weight-decay', f.weightDecay);
  if (f.schedule !== undefined) o.schedule = f.schedule as TrainOptions['schedule'];
  if (f.warmupEpochs !== undefined) o.warmupEpochs = num('warmup-epochs', f.warmupEpochs);
  if (f.labelSmoothing !== undefined) o.labelSmoothing = num('label-smoothing', f.labelSmoothing);
  if (f.clipNorm !== undefined) o.clipNorm = num('clip-norm', f.clipNorm);
  if (f.earlyStopping !== undefined) o.earlyStopping = num('early-stopping', f.earlyStopping);
  if (f.augment !== undefined) o.augment = parseAugment(f.augment);
  if (f.valSplit !== undefined) o.valSplit = num('val-split', f.valSplit);
  if (f.seed !== undefined) o.seed = num('seed', f.seed);
  if (f.out !== undefined) o.out = f.out;
  if (f.backend !== undefined) o.backend = f.backend;
  if (f.precision !== undefined) o.precision = f.precision;
  if (f.limit !== undefined) o.limit = num('limit', f.limit);
  if (f.imageSize !== undefined) o.imageSize = num('image-size', f.imageSize);
  if (f.bnRecalibration !== undefined) o.bnRecalibration = num('bn-recalibration', f.bnRecalibration);
  if (f.evalData !== undefined) o.evalData = f.evalData;
  if (f.biasLrScale !== undefined) o.biasLrScale = num('bias-lr-scale', f.biasLrScale);
  if (f.tta !== undefined) o.tta = f.tta as TrainOptions['tta'];
  if (f.lookahead !== undefined) o.lookahead = parseLookahead(f.lookahead);
  return o;
}

/** With --resume the run's saved options apply; only these may be changed. */
const RESUME_OVERRIDABLE = new Set(['resume', 'epochs', 'backend', 'precision']);

/** The options a resumed run may change; any other option given with --resume is an error. */
export function resumeOverrides(flags: TrainFlags): ResumeOverrides {
  const extra = Object.keys(flags).filter((k) => !RESUME_OVERRIDABLE.has(k) && flags[k as keyof TrainFlags] !== undefined);
  if (extra.length > 0) {
    const names = extra.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
    fail(`--resume continues a run with its saved options; only --epochs, --backend and --precision may be given with it (got ${names.join(', ')})`);
  }
  return { epochs: flags.epochs === undefined ? undefined : num('epochs', flags.epochs), backend: flags.backend, precision: flags.precision };
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a model; writes a run folder with the model, checkpoints, history.jsonl and curves.svg')
    .option('--data <path>', 'image folder (one sub-folder per class) or .h5 file; default: the embedded MNIST digits')
    .option('--model <name>', `architecture (see \`resnet models\`); default: ${DEFAULT_DATA_MODEL} with --data, ${DEFAULT_MNIST_MODEL} on MNIST`)
    .option('--epochs <n>', 'passes over the training split (default: 2 on MNIST, 10 with --data)')
    .option('--batch-size <n>', 'images per step (default: 32)')
    .option('--lr <rate>', 'peak learning rate (default: 0.001)')
    .option('--optimizer <name>', 'adam, sgd (with momentum), nesterov (SGD with Nesterov momentum) or adamw (default: adam)')
    .option('--momentum <m>', 'SGD momentum (default: 0.9)')
    .option('--weight-decay <wd>', 'L2 on kernels (adam, sgd) or decoupled decay (adamw) (default: 0)')
    .option('--schedule <name>', 'learning-rate schedule after the warm-up: constant, cosine, step (x0.1 at 50% and 75%) or linear (down to 0) (default: constant)')
    .option('--warmup-epochs <e>', 'linear warm-up length, in epochs (default: 0)')
    .option('--label-smoothing <eps>', 'label smoothing epsilon in [0, 1) (default: 0)')
    .option('--clip-norm <max>', 'scale each step\'s gradients down to this global L2 norm when larger (default: 0 = off)')
    .option('--bias-lr-scale <factor>', 'sgd/nesterov: learning-rate multiplier of biases and batch-norm parameters (airbench: 64) (default: 1)')
    .option('--early-stopping <patience>', 'stop after this many epochs without improvement (default: 0 = off)')
    .option('--augment [settings]', `random shifts, rotations, brightness, contrast; optional overrides like shift=0.1,rotation=10,brightness=0.1,contrast=0.2,flip; crop=4 adds zero-padded random crops (He et al.)`)
    .option('--val-split <fraction>', 'fraction held out for validation, per class (default: 0.1)')
    .option('--seed <n>', 'seed of the split, shuffles and augmentation (default: 0)')
    .option('--out <dir>', 'run folder to create (default: runs/train-<date>-<time>)')
    .option('--backend <engine>', 'auto, native, wasm or cpu (default: auto)')
    .option('--precision <type>', 'convolutions in float32, or bfloat16 mixed precision (native engine on CPUs with AVX512_BF16; weights stay float32) (default: float32)')
    .option('--resume <dir>', 'continue the run in <dir> from its last checkpoint (its saved options apply; --epochs may raise the total)')
    .option('--limit <n>', 'use only n images of the data (balanced over classes) (default: all; 3000 of the 10,000 MNIST digits)')
    .option('--image-size <pixels>', 'resize images to this square size (default: as stored)')
    .option('--bn-recalibration <images>', `recompute batch-norm statistics on this many training images after each epoch ("precise BN"; 0 = off, Keras's moving averages only) (default: ${DEFAULT_BN_RECALIBRATION})`)
    .option('--eval-data <path>', 'a labelled test folder or .h5 file evaluated after every epoch and recorded in history.jsonl (test_loss, test_accuracy); never used to choose anything')
    .option('--tta <mode>', 'test-time augmentation of the evaluations: none, or flip (average with the mirror image) (default: none)')
    .option('--lookahead [settings]', 'lookahead weight averaging (airbench); optional overrides like every=5,decay=0.95,power=3,start=3')
    .action(
      action(async (flags: TrainFlags) => {
        // Loaded here, not at the top: `resnet --help` and the other commands start faster without
        // TensorFlow.js, the image decoders and vega.
        const { resumeRun, trainRun } = await import('../../train/run.js');
        const overrides = flags.resume !== undefined ? resumeOverrides(flags) : undefined;
        const options = flags.resume === undefined ? optionsFromFlags(flags) : undefined;
        // Checkpoints are written atomically, so Ctrl-C can stop at once; say how to continue.
        const out = flags.resume ?? options!.out;
        const onInterrupt = () => {
          const hint = existsSync(join(out, 'last')) ? `continue with: resnet train --resume ${out}` : 'no checkpoint was written yet';
          process.stderr.write(`\nresnet: interrupted; ${hint}\n`);
          process.exit(130);
        };
        process.once('SIGINT', onInterrupt);
        try {
          if (overrides) await resumeRun(flags.resume!, overrides);
          else await trainRun(options!);
        } finally {
          process.off('SIGINT', onInterrupt);
        }
      }),
    );
}
