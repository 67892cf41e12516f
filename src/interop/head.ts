// A new classifier head on a trained backbone (transfer learning): the model's last Dense layer is
// replaced by a fresh one with `classes` units and seeded Glorot-uniform weights (Keras's default),
// everything before it shared with the original model. Browser-safe.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { headLayer } from '../models/cut.js';

export interface HeadOptions {
  /** Seed of the new kernel's Glorot-uniform draw; default 1. */
  seed?: number;
  /** Activation of the new head; default the old head's ('softmax' for every model here). */
  activation?: 'softmax' | 'linear';
}

/**
 * A model with the same backbone (the very same layers and weights) and a new head of `classes` units.
 * The old head's weights are disposed; the old model object must not be used any more.
 */
export function replaceHead(model: tf.LayersModel, classes: number, options: HeadOptions = {}): tf.LayersModel {
  if (!Number.isInteger(classes) || classes < 1) throw new UserError(`classes must be a positive integer, got ${classes}`);
  const old = headLayer(model);
  const features = old.input as tf.SymbolicTensor;
  const config = old.getConfig();
  // Course-style names carry the class count ('fc6'); keep any other name ('predictions').
  const name = /^fc\d+$/.test(old.name) ? `fc${classes}` : old.name;
  const head = tf.layers.dense({
    units: classes,
    activation: options.activation ?? (config.activation as 'softmax' | 'linear'),
    kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed ?? 1 }),
    name,
  });
  const output = head.apply(features) as tf.SymbolicTensor;
  const replaced = tf.model({ inputs: model.inputs, outputs: output, name: model.name });
  old.dispose();
  return replaced;
}

/** Gives the model's head fresh seeded Glorot-uniform kernel and zero bias (a model built with zero initial weights). */
export function initializeHead(model: tf.LayersModel, seed = 1): void {
  const head = headLayer(model);
  const fresh = tf.tidy(() =>
    head.weights.map((w, i) => (i === 0 ? tf.initializers.glorotUniform({ seed }).apply(w.shape as number[]) : tf.zeros(w.shape as number[]))),
  );
  head.setWeights(fresh);
  tf.dispose(fresh);
}
