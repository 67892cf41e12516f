// Loss and accuracy of a softmax classifier, as Keras computes them.
import * as tf from '../tf.js';

/** Keras's backend epsilon: probabilities are clipped to [EPS, 1 - EPS] before the log. */
export const EPS = 1e-7;

/** Mean categorical cross-entropy (nats per example) of probabilities `probs` against targets `ys`. */
export function crossEntropy(ys: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(probs, EPS, 1 - EPS))), -1))) as tf.Scalar);
}

/** Number of rows whose arg-max agrees between `ys` and `probs` (ties: first index, as argMax). */
export function correctCount(ys: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(ys, -1), tf.argMax(probs, -1)), 'int32')) as tf.Scalar);
}
