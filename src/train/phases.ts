// The loop over a run's phases (finetune.ts): each phase sets which layers train (freeze.ts) and runs
// the ordinary epoch loop (loop.ts) up to its last epoch. Browser-safe.
import { setTrainability } from './freeze.js';
import { phasesOf } from './finetune.js';
import { runEpochs, type LoopContext } from './loop.js';
import { makeOptimizer, type TrainOptimizer } from './optimizer.js';
import type { Progress } from './progress.js';
import type { Trainability } from './freeze.js';

const PHASE_NOTE: Record<Trainability, string> = {
  all: 'every layer trains (fresh optimizer)',
  'all-but-batch-norm': 'every layer but batch norm trains (fresh optimizer)',
  head: 'only the head trains (the rest frozen, batch norm in inference mode)',
};

/** Gives `target` (the handle the checkpoint writer holds) a fresh optimiser's state and methods. */
function replaceOptimizer(target: TrainOptimizer, fresh: TrainOptimizer): void {
  target.dispose();
  Object.assign(target, fresh);
}

/**
 * runEpochs, phase by phase, from wherever `ctx.state` stands (a resumed run re-enters its phase).
 * At the start of a later phase the optimiser is replaced by a fresh one: its moments belong to the
 * previous phase's set of trainable variables (TF.js's Adam keeps them by position).
 */
export async function runPhases(ctx: LoopContext): Promise<'completed' | 'early-stopped' | 'interrupted'> {
  const phases = phasesOf(ctx.options);
  const unfinished = phases.findIndex((p) => ctx.state.epoch < p.until);
  const first = unfinished === -1 ? phases.length - 1 : unfinished;
  let left = ctx.stopAfterEpochs;
  // Epoch lines count over the whole run, not the phase.
  const total = ctx.options.epochs;
  const p = ctx.progress;
  const progress: Progress = { startEpoch: (e, _, steps) => p.startEpoch(e, total, steps), step: (...a) => p.step(...a), endEpoch: (...a) => p.endEpoch(...a), log: (l) => p.log(l) };
  for (let i = first; ; i++) {
    const phase = phases[i];
    if (i > 0 && ctx.state.epoch === phases[i - 1].until) {
      const o = phase.options;
      replaceOptimizer(ctx.optimizer, makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum, o.biasLrScale ?? 1));
    }
    setTrainability(ctx.model, phase.trainability);
    const start = i > 0 ? phases[i - 1].until : 0;
    if (ctx.options.freeze === 'backbone' && ctx.state.epoch === start) {
      ctx.progress.log(`epochs ${start + 1}-${phase.until}: ${PHASE_NOTE[phase.trainability]}, peak lr ${phase.options.lr}`);
    }
    const before = ctx.state.epoch;
    const ended = await runEpochs({ ...ctx, options: phase.options, progress, stopAfterEpochs: left });
    if (left !== undefined) left -= ctx.state.epoch - before;
    if (ended === 'interrupted' || i === phases.length - 1) return ended;
  }
}

