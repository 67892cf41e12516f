// `resnet train`: trains a model on an image folder, an HDF5 file or the embedded MNIST digits, and
// writes a run folder (model, checkpoints, history, curves). `resnet` alone runs it with defaults.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { action, fail, pathOption } from '../run.js';
import {
  DEFAULT_AUGMENT,
  DEFAULT_BN_RECALIBRATION,
  DEFAULT_DATA_MODEL,
  DEFAULT_LOOKAHEAD,
  DEFAULT_MNIST_MODEL,
  defaultOptions,
  type AugmentSettings,
  type LookaheadSettings,
  type TrainOptions,
} from '../../train/options.js';
import { DEFAULT_RECIPE, RECIPES } from '../../train/recipes.js';
import type { ResumeOverrides } from '../../train/run.js';
import type { DistributedOptions } from '../../distributed/options.js';

/** Processes of --distributed without --processes. */
const DEFAULT_PROCESSES = 2;

export interface TrainFlags {
  recipe?: string;
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
  resize?: string;
  cacheDir?: string;
  /** false with --no-cache. */
  cache?: boolean;
  maxMemory?: string;
  dataWorkers?: string;
  bnRecalibration?: string;
  init?: string;
  freeze?: string;
  unfreezeAfter?: string;
  unfreezeLr?: string;
  unfreezeBatchNorm?: boolean;
  distributed?: string;
  processes?: string;
  coordinator?: string;
  processId?: string;
  threads?: string;
  evalData?: string;
  tta?: string;
  evalEvery?: string;
  biasLrScale?: string;
  lookahead?: string | boolean;
}

/** A number option (ranges are checked by validateOptions, which names the option). */
function num(flag: string, value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) fail(`--${flag} must be a number, got '${value}'`);
  return n;
}

/** `--augment` alone: the defaults; `--augment shift=0.1,rotation=15,flip` overrides some of them;
 *  `--augment off` (or `none`) turns off a recipe's augmentation. */
export function parseAugment(value: string | boolean): AugmentSettings | null {
  const settings = { ...DEFAULT_AUGMENT };
  if (value === true) return settings;
  if (value === false || value === 'off' || value === 'none') return null;
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
  const o = defaultOptions(f.data, f.recipe ?? DEFAULT_RECIPE);
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
  if (f.resize !== undefined) o.resize = f.resize as TrainOptions['resize'];
  Object.assign(o, dataRuntime(f));
  if (f.bnRecalibration !== undefined) o.bnRecalibration = num('bn-recalibration', f.bnRecalibration);
  // Fine-tuning (src/train/finetune.ts); --init brings its own architecture.
  if (f.init !== undefined && f.model !== undefined) fail('--init and --model exclude each other: the model is the one --init loads');
  if (f.init !== undefined) o.init = f.init;
  if (f.freeze !== undefined) o.freeze = f.freeze as TrainOptions['freeze'];
  if (f.unfreezeAfter !== undefined) o.unfreezeAfter = num('unfreeze-after', f.unfreezeAfter);
  if (f.unfreezeLr !== undefined) o.unfreezeLr = num('unfreeze-lr', f.unfreezeLr);
  if (f.unfreezeBatchNorm) o.unfreezeBatchNorm = true;
  if (f.evalData !== undefined) o.evalData = f.evalData;
  if (f.evalEvery !== undefined) o.evalEvery = num('eval-every', f.evalEvery);
  if (f.biasLrScale !== undefined) o.biasLrScale = num('bias-lr-scale', f.biasLrScale);
  if (f.tta !== undefined) o.tta = f.tta as TrainOptions['tta'];
  if (f.lookahead !== undefined) o.lookahead = parseLookahead(f.lookahead);
  // A shorter run than the recipe's keeps its warm-up inside the run, unless one was asked for.
  if (f.epochs !== undefined && f.warmupEpochs === undefined && o.warmupEpochs > o.epochs) o.warmupEpochs = o.epochs;
  return o;
}

/** Where decoded data is cached, how much of it may stay in memory and how many threads assemble
 *  batches: they change how a run gets its data, never its result, so --resume may change them too. */
function dataRuntime(f: TrainFlags): Pick<TrainOptions, 'cacheDir' | 'maxMemory' | 'dataWorkers'> {
  const o: Pick<TrainOptions, 'cacheDir' | 'maxMemory' | 'dataWorkers'> = {};
  if (f.cacheDir !== undefined) o.cacheDir = f.cacheDir;
  if (f.cache === false) o.cacheDir = '';
  if (f.maxMemory !== undefined) o.maxMemory = num('max-memory', f.maxMemory);
  if (f.dataWorkers !== undefined) o.dataWorkers = num('data-workers', f.dataWorkers);
  return o;
}

/** --distributed and its companions (src/distributed/options.ts); the others need --distributed. */
export function distributedFromFlags(f: TrainFlags): DistributedOptions {
  if (f.distributed === undefined) fail('--processes, --coordinator, --process-id and --threads need --distributed jax');
  return {
    engine: f.distributed as DistributedOptions['engine'],
    processes: f.processes === undefined ? DEFAULT_PROCESSES : num('processes', f.processes),
    coordinator: f.coordinator,
    processId: f.processId === undefined ? undefined : num('process-id', f.processId),
    threads: f.threads === undefined ? undefined : num('threads', f.threads),
  };
}

/** With --resume the run's saved options apply; only these may be changed. */
const RESUME_OVERRIDABLE = new Set(['resume', 'epochs', 'backend', 'precision', 'cacheDir', 'cache', 'maxMemory', 'dataWorkers']);

/** The options a resumed run may change; any other option given with --resume is an error. */
export function resumeOverrides(flags: TrainFlags): ResumeOverrides {
  const extra = Object.keys(flags).filter((k) => !RESUME_OVERRIDABLE.has(k) && flags[k as keyof TrainFlags] !== undefined);
  if (extra.length > 0) {
    const names = extra.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
    fail(
      `--resume continues a run with its saved options; only --epochs, --backend, --precision, --cache-dir, --no-cache, --max-memory and --data-workers may be given with it (got ${names.join(', ')})`,
    );
  }
  return { epochs: flags.epochs === undefined ? undefined : num('epochs', flags.epochs), backend: flags.backend, precision: flags.precision, ...dataRuntime(flags) };
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a model; writes a run folder with the model, checkpoints, history.jsonl and curves.svg')
    .option('--recipe <name>', `named defaults for the optimiser, schedule, regularisation and epochs, which other flags override: ${Object.entries(RECIPES).map(([name, r]) => `${name} (${r.summary})`).join('; ')} (default: ${DEFAULT_RECIPE})`)
    .option('--data <path>', 'image folder (one sub-folder per class) or .h5 file; default: the embedded MNIST digits')
    .option('--model <name>', `architecture (see \`resnet models\`); default: ${DEFAULT_DATA_MODEL} with --data, ${DEFAULT_MNIST_MODEL} on MNIST`)
    .option('--epochs <n>', 'passes over the training split (default: from the recipe)')
    .option('--batch-size <n>', 'images per step (default: from the recipe)')
    .option('--lr <rate>', 'peak learning rate (default: from the recipe)')
    .option('--optimizer <name>', 'adam, sgd (with momentum), nesterov (SGD with Nesterov momentum) or adamw (default: from the recipe)')
    .option('--momentum <m>', 'SGD / Nesterov momentum (default: 0.9)')
    .option('--weight-decay <wd>', 'L2 on kernels (adam, sgd, nesterov) or decoupled decay (adamw) (default: from the recipe)')
    .option('--schedule <name>', 'learning-rate schedule after the warm-up: constant, cosine, step (x0.1 at 50% and 75%) or linear (down to 0) (default: from the recipe)')
    .option('--warmup-epochs <e>', 'linear warm-up length, in epochs (default: from the recipe)')
    .option('--label-smoothing <eps>', 'label smoothing epsilon in [0, 1) (default: from the recipe)')
    .option('--clip-norm <max>', 'scale each step\'s gradients down to this global L2 norm when larger (default: from the recipe)')
    .option('--bias-lr-scale <factor>', 'sgd/nesterov: learning-rate multiplier of biases and batch-norm parameters (airbench: 64) (default: 1)')
    .option('--early-stopping <patience>', 'stop after this many epochs without improvement (default: 0 = off)')
    .option('--augment [settings]', `random shifts, rotations, brightness, contrast; optional overrides like shift=0.1,rotation=10,brightness=0.1,contrast=0.2,flip; crop=4 adds zero-padded random crops (He et al.); 'off' for none (default: from the recipe)`)
    .option('--val-split <fraction>', 'fraction held out for validation, per class (default: 0.1)')
    .option('--seed <n>', 'seed of the split, shuffles and augmentation (default: 0)')
    .option('--out <dir>', 'run folder to create (default: runs/train-<date>-<time>)')
    .option('--backend <engine>', 'auto, native, wasm or cpu (default: auto)')
    .option('--precision <type>', 'convolutions in float32, or bfloat16 mixed precision (native engine on CPUs with AVX512_BF16; weights stay float32) (default: float32)')
    .option('--resume <dir>', 'continue the run in <dir> from its last checkpoint (its saved options apply; --epochs may raise the total)')
    .option('--limit <n>', 'use only n images of the data (balanced over classes) (default: all; 3000 of the 10,000 MNIST digits)')
    .option('--image-size <pixels>', "resize images to this square size (default: the model's input size, resnet50: 64; for other models the data's most common size)")
    .option('--resize <mode>', 'how images of another size are resized: squash (stretch), crop (centre crop to the aspect ratio) or pad (black borders) (default: squash)')
    .option('--cache-dir <dir>', 'folder where decoded images are kept for the next run on the same files (default: $XDG_CACHE_HOME/resnet-ts or ~/.cache/resnet-ts)')
    .option('--no-cache', 'decode the images again and keep no copy')
    .option('--max-memory <MB>', 'largest decoded data set kept in memory, in megabytes; a larger one streams from the cache folder (default: half the RAM)')
    .option('--data-workers <n>', 'threads that assemble and augment batches beside the training step; 0: on the training thread (default: 1)')
    .option('--init <dir>', "start from this model folder's weights (fine-tuning); a new seeded head when the data's classes differ")
    .option('--freeze <what>', 'backbone: train only the head, batch norm frozen in inference mode (default: none)')
    .option('--unfreeze-after <epochs>', 'with --freeze backbone: after this many epochs every layer trains (batch norm stays frozen)')
    .option('--unfreeze-lr <rate>', 'peak learning rate after --unfreeze-after (default: --lr / 10)')
    .option('--unfreeze-batch-norm', 'after --unfreeze-after, the batch-norm layers train too (batch statistics)')
    .option('--distributed <engine>', 'train on another engine, data-parallel over processes: jax (Keras 3 on JAX; docs/distributed.md)')
    .option('--processes <n>', 'with --distributed: processes in all, on every machine together (default: 2)')
    .option('--coordinator <host:port>', "with --distributed: process 0's address (default: loopback, all processes on this machine)")
    .option('--process-id <i>', 'with --coordinator: the one process this machine runs (0 writes the run folder)')
    .option('--threads <n>', 'with --distributed: compute threads per process (default: cores / processes here)')
    .option('--bn-recalibration <images>', `recompute batch-norm statistics on this many training images after each epoch ("precise BN"; 0 = off, Keras's moving averages only) (default: ${DEFAULT_BN_RECALIBRATION})`)
    .option('--eval-data <path>', 'a labelled test folder or .h5 file evaluated after every epoch and recorded in history.jsonl (test_loss, test_accuracy); never used to choose anything')
    .option('--eval-every <epochs>', 'evaluate --eval-data after every N-th epoch and after the last (default: 1)')
    .option('--tta <mode>', 'test-time augmentation of the evaluations: none, flip (average with the mirror image), or flip-translate (also the views shifted one pixel diagonally, and their mirrors) (default: none)')
    .option('--lookahead [settings]', 'lookahead weight averaging (airbench); optional overrides like every=5,decay=0.95,power=3,start=3')
    .action(
      action(async (flags: TrainFlags) => {
        // Loaded here, not at the top: `resnet --help` and the other commands start faster without
        // TensorFlow.js, the image decoders and vega.
        for (const key of ['data', 'out', 'resume'] as const) if (flags[key] !== undefined) pathOption(key, flags[key]);
        const { resumeRun, trainRun } = await import('../../train/run.js');
        const overrides = flags.resume !== undefined ? resumeOverrides(flags) : undefined;
        if (flags.distributed === undefined && [flags.processes, flags.coordinator, flags.processId, flags.threads].some((v) => v !== undefined)) distributedFromFlags(flags);
        const options = flags.resume === undefined ? optionsFromFlags(flags) : undefined;
        // Checkpoints are written atomically, so Ctrl-C can stop at once; say how to continue.
        const out = flags.resume ?? options!.out;
        // SIGTERM (kill, a container stopping) likewise: the lock is released on exit.
        const onSignal = (signal: NodeJS.Signals) => {
          const hint = existsSync(join(out, 'last')) ? `continue with: resnet train --resume ${out}` : 'no checkpoint was written yet';
          process.stderr.write(`\nresnet: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}; ${hint}\n`);
          process.exit(signal === 'SIGINT' ? 130 : 143);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          if (overrides) await resumeRun(flags.resume!, overrides);
          else if (flags.distributed !== undefined) {
            const { trainDistributed } = await import('../../distributed/jax.js');
            await trainDistributed(options!, distributedFromFlags(flags));
          } else await trainRun(options!);
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
