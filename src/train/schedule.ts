// Learning-rate schedules, as a pure function of training progress so that a resumed run gets the
// same rate at the same step as an uninterrupted one.
import type { ScheduleName } from './options.js';

export interface ScheduleSettings {
  schedule: ScheduleName;
  /** Peak learning rate. */
  lr: number;
  /** Total epochs of the run. */
  epochs: number;
  /** Epochs of linear warm-up. */
  warmupEpochs: number;
}

/** The 'step' schedule multiplies the rate by STEP_FACTOR at each of these fractions of the run. */
export const STEP_MILESTONES = [0.5, 0.75] as const;
export const STEP_FACTOR = 0.1;

/**
 * Learning rate for optimisation step `step` (0-based) of epoch `epoch` (0-based), with
 * `stepsPerEpoch` steps an epoch. Warm-up rises linearly so that the last warm-up step reaches `lr`
 * (the first step is not zero); after it the schedule applies to the remaining epochs.
 */
export function learningRateAt(s: ScheduleSettings, epoch: number, step: number, stepsPerEpoch: number): number {
  const progress = epoch + step / stepsPerEpoch; // in epochs, at the start of this step
  const done = epoch + (step + 1) / stepsPerEpoch; // in epochs, at the end of this step
  if (s.warmupEpochs > 0 && progress < s.warmupEpochs) return (s.lr * Math.min(done, s.warmupEpochs)) / s.warmupEpochs;
  const span = s.epochs - s.warmupEpochs;
  const t = span > 0 ? (progress - s.warmupEpochs) / span : 1; // in [0, 1)
  switch (s.schedule) {
    case 'constant':
      return s.lr;
    case 'cosine':
      return 0.5 * s.lr * (1 + Math.cos(Math.PI * t));
    case 'linear':
      // With warm-up, the one-cycle shape of fast CIFAR recipes (Smith; Page's ResNet-9): up, then down to 0.
      return s.lr * (1 - t);
    case 'step': {
      const passed = STEP_MILESTONES.filter((m) => t >= m).length;
      return s.lr * STEP_FACTOR ** passed;
    }
  }
}
