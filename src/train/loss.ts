// Loss and accuracy of a softmax classifier.
//
// The networks end in a softmax, so the loss sees probabilities, not logits. Keras clips them to
// [1e-7, 1 - 1e-7] before the log when it has nothing better, but on TensorFlow it takes the logits the
// softmax cached (`_keras_logits`), so its gradient is the exact softmax one, p - y, whatever the
// logits. A clip would zero the gradient of every example whose true class has p < 1e-7 (a loss above
// 16 nats): exactly the badly wrong examples of a deep network's first steps, whose logits are large
// (ResNet-56 at lr 0.1: 0.16 training accuracy after 3 epochs of 15,000 photos with the clip, 0.29 in
// PyTorch). So the training loss floors p at the smallest normal float32 instead: its gradient,
// -y / p chained through the softmax, is p - y wherever the softmax did not underflow (logit gaps up to
// about 87).
import * as tf from '../tf.js';

/** The smallest normal float32: the floor under p of the training and evaluation losses (a cap of
 *  87.3 nats per example, where Keras's clip to [1e-7, 1 - 1e-7] caps it at 16.1). */
export const FLOOR = 1.1754944e-38;

/** Mean categorical cross-entropy (nats per example) of probabilities `probs` against targets `ys`
 *  (one-hot or smoothed); differentiable with the exact softmax gradient (see the header). */
export function crossEntropy(ys: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(ys, tf.log(tf.maximum(probs, FLOOR))), -1))) as tf.Scalar);
}

/** Number of rows whose arg-max agrees between `ys` and `probs` (ties: first index, as argMax). */
export function correctCount(ys: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(ys, -1), tf.argMax(probs, -1)), 'int32')) as tf.Scalar);
}
