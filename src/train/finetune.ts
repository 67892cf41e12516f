// Fine-tuning: a run that starts from trained or imported weights (`init`), puts on a new seeded head
// when the data's classes differ from the model's, and trains in up to two phases (Keras's
// transfer-learning guide):
//   1. `freeze: 'backbone'`: only the head trains; every other layer is frozen, its BatchNormalization
//      layers in inference mode with their moving statistics untouched (freeze.ts);
//   2. after `unfreezeAfter` epochs: everything trains at the lower peak rate `unfreezeLr`, with a fresh
//      optimiser (Keras recompiles) and the schedule restarted over the remaining epochs. The batch-norm
//      layers stay frozen unless `unfreezeBatchNorm` (the guide's advice: updating statistics learnt on
//      other data with those of a few small batches undoes what the model has learnt).
// Without `freeze`, the whole model trains from the loaded weights as an ordinary run does.
// This file: the options and the phases they make (no TensorFlow.js: the CLI loads it at start-up).
// The rest: freeze.ts (which layers train), phases.ts (the loop over phases), head.ts (a new head),
// init.ts (Node-only: opening the model).
import { UserError } from '../errors.js';
import type { Trainability } from './freeze.js';
import type { TrainOptions } from './options.js';

export const FREEZE_MODES = ['none', 'backbone'] as const;
export type FreezeMode = (typeof FREEZE_MODES)[number];

/** The fine-tuning part of TrainOptions (all optional: a run without them trains from scratch). */
export interface FinetuneOptions {
  /** Model folder (or a file `resnet import` reads) whose weights start the run; undefined = fresh weights. */
  init?: string;
  /** 'backbone': only the head trains (for `unfreezeAfter` epochs, else the whole run); default 'none'. */
  freeze?: FreezeMode;
  /** Epochs of the head-only phase, after which every layer trains; needs freeze 'backbone'. */
  unfreezeAfter?: number;
  /** Peak learning rate of the second phase, in parameter units per gradient unit; default lr / 10. */
  unfreezeLr?: number;
  /** Second phase: batch-norm layers train too (batch statistics, moving averages, precise BN). Default false. */
  unfreezeBatchNorm?: boolean;
}

/** Default ratio of the second phase's peak rate to the first's. */
export const UNFREEZE_LR_FACTOR = 0.1;

export function validateFinetuneOptions(o: TrainOptions): void {
  const bad = (msg: string): never => {
    throw new UserError(msg);
  };
  if (o.init !== undefined && (typeof o.init !== 'string' || o.init === '')) bad(`--init must name a model folder or file, got '${o.init}'`);
  if (o.freeze !== undefined && !(FREEZE_MODES as readonly string[]).includes(o.freeze)) bad(`--freeze must be one of ${FREEZE_MODES.join(', ')}, got '${o.freeze}'`);
  if (o.unfreezeAfter !== undefined) {
    if (o.freeze !== 'backbone') bad('--unfreeze-after needs --freeze backbone (it ends the head-only phase)');
    if (!Number.isInteger(o.unfreezeAfter) || o.unfreezeAfter < 1 || o.unfreezeAfter >= o.epochs)
      bad(`--unfreeze-after must be an integer in [1, epochs-1=${o.epochs - 1}], got '${o.unfreezeAfter}'`);
    if (o.warmupEpochs > o.unfreezeAfter) bad(`--warmup-epochs (${o.warmupEpochs}) must not exceed --unfreeze-after (${o.unfreezeAfter}): warm-up belongs to the first phase`);
  }
  if (o.unfreezeLr !== undefined) {
    if (o.unfreezeAfter === undefined) bad('--unfreeze-lr needs --unfreeze-after');
    if (!(o.unfreezeLr > 0 && Number.isFinite(o.unfreezeLr))) bad(`--unfreeze-lr must be a positive number, got '${o.unfreezeLr}'`);
  }
  if (o.unfreezeBatchNorm && o.unfreezeAfter === undefined) bad('--unfreeze-batch-norm needs --unfreeze-after');
}

/** One phase of a run: which layers train, up to which epoch (exclusive, 0-based), with which options. */
export interface Phase {
  trainability: Trainability;
  until: number;
  options: TrainOptions;
}

/**
 * The phases of a run. The second phase's options reuse the schedule code unchanged: with
 * warmupEpochs = unfreezeAfter, learningRateAt's schedule spans exactly the remaining epochs and starts
 * at the full `unfreezeLr` (the first phase counts as its warm-up, which has passed).
 */
export function phasesOf(o: TrainOptions): Phase[] {
  if (o.freeze !== 'backbone') return [{ trainability: 'all', until: o.epochs, options: o }];
  if (o.unfreezeAfter === undefined) return [{ trainability: 'head', until: o.epochs, options: o }];
  const e = o.unfreezeAfter;
  return [
    // Early stopping watches the last phase only: a first phase that stopped early would skip the second.
    { trainability: 'head', until: e, options: { ...o, epochs: e, earlyStopping: 0 } },
    {
      trainability: o.unfreezeBatchNorm ? 'all' : 'all-but-batch-norm',
      until: o.epochs,
      options: { ...o, lr: o.unfreezeLr ?? o.lr * UNFREEZE_LR_FACTOR, warmupEpochs: e },
    },
  ];
}

