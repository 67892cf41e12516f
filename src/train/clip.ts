// Gradient clipping by global norm (Keras's `global_clipnorm`, PyTorch's `clip_grad_norm_`): when the
// L2 norm of all gradients together exceeds `maxNorm`, every gradient is scaled by maxNorm / norm,
// which keeps the update's direction and bounds its size (Adam's steps are invariant to a constant
// scale, except through its running moments, which is where a spike does its damage).
import * as tf from '../tf.js';

/**
 * The gradients with a global L2 norm of at most `maxNorm` (new tensors when scaled, the same ones
 * otherwise), and the norm before clipping.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): { clipped: tf.Tensor[]; norm: number } {
  const norm = Math.sqrt(tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
  if (!(norm > maxNorm)) return { clipped: grads, norm };
  const scale = maxNorm / norm;
  return { clipped: grads.map((g) => tf.mul(g, scale)), norm };
}
