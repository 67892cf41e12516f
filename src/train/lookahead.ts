// Lookahead weight averaging as airbench94 does it (Keller Jordan, 2024; after Zhang et al.'s
// Lookahead optimiser): from epoch `start` on, every `every` steps an exponential moving average of
// all the model's weights (batch-norm statistics included) moves towards the current weights, and
// the model's weights are then set to that average. The average's decay rises over training,
// rho = decay^every * (step / totalSteps)^power, so it follows the weights early and averages
// strongly at the end. At the end of every epoch the model holds the average, so the average needs
// no checkpoint: it starts again from the model's weights at the next epoch (on --resume too).
import * as tf from '../tf.js';
import type { LookaheadSettings } from './options.js';

/** The average's decay at global step `step` (1-based) of `totalSteps`. */
export function lookaheadDecay(s: LookaheadSettings, step: number, totalSteps: number): number {
  return s.decay ** s.every * (step / totalSteps) ** s.power;
}

export class Lookahead {
  private average: tf.Tensor[];

  /** Starts the average at the model's current weights. */
  constructor(private readonly model: tf.LayersModel, private readonly settings: LookaheadSettings) {
    this.average = model.weights.map((w) => tf.clone(w.read()));
  }

  /** After global step `step` (1-based) of `totalSteps`: averages and writes back on every `every`-th step. */
  afterStep(step: number, totalSteps: number): void {
    if (step % this.settings.every !== 0) return;
    const rho = lookaheadDecay(this.settings, step, totalSteps);
    const weights = this.model.weights;
    const next = tf.tidy(() => this.average.map((a, i) => tf.add(tf.mul(a, rho), tf.mul(weights[i].read(), 1 - rho))));
    tf.dispose(this.average);
    this.average = next;
    this.writeBack();
  }

  /** At the end of an epoch: the model takes the average (airbench's update with decay 1). */
  finish(): void {
    this.writeBack();
    this.dispose();
  }

  /** Sets the model's weights to the average (sharing its storage until the next update; the native
   *  engine's in-place updates see the shared storage and compute a new tensor instead). */
  private writeBack(): void {
    this.model.weights.forEach((w, i) => {
      const copy = tf.clone(this.average[i]);
      w.write(copy);
      copy.dispose(); // the variable holds a reference of its own
    });
  }

  dispose(): void {
    tf.dispose(this.average);
    this.average = [];
  }
}
