// The guard that keeps NaN and infinity out of checkpoints: a run whose weights, optimiser state or
// epoch figures stopped being finite (divergence, even in the last step of an epoch, whose loss was
// still finite) must not overwrite the last good best/ and last/. Browser-safe.
import * as tf from '../tf.js';
import type { EpochRecord } from '../plot/curves.js';
import type { OptimizerState } from './optimizer.js';

/** Name of the first weight of `model` holding NaN or ±Infinity, or null when all are finite. */
export function firstNonFiniteWeight(model: tf.LayersModel): string | null {
  const weights = model.weights;
  if (weights.length === 0) return null;
  // x * 0 is 0 for finite x and NaN for NaN or ±Infinity, so each sum is 0 or NaN: one read for all.
  const flags = tf.tidy(() => tf.stack(weights.map((w) => tf.sum(tf.mul(w.read(), 0)))).dataSync());
  const bad = flags.findIndex((v) => !Number.isFinite(v));
  return bad < 0 ? null : weights[bad].originalName;
}

/** Name of the first optimiser tensor (moment, momentum) that is not finite, or null. */
export function firstNonFiniteState(state: OptimizerState): string | null {
  if (!Number.isFinite(state.iterations)) return 'iterations';
  for (const t of state.tensors) for (let i = 0; i < t.values.length; i++) if (!Number.isFinite(t.values[i])) return t.name;
  return null;
}

/** The first figure of an epoch's record that is not finite (a null validation figure is fine). */
export function firstNonFiniteFigure(record: EpochRecord): string | null {
  const figures: [string, number | null][] = [['loss', record.loss], ['accuracy', record.accuracy], ['val_loss', record.val_loss], ['val_accuracy', record.val_accuracy]];
  const bad = figures.find(([, v]) => v !== null && !Number.isFinite(v));
  return bad ? `${bad[0]} = ${bad[1]}` : null;
}
