// Per-channel sums of a tensor, computed on the way by the kernel that wrote it. In a ResNet every
// convolution's output goes into a batch norm, so the gradient of the convolution's bias,
// sum(dy) over N, H and W, is the sum of the batch-norm gradient's dx: the training batch-norm
// gradient accumulates it while it writes dx (normalization.cc) and records it here, and the
// convolution's gradient (fused_conv.ts) takes it instead of a Sum kernel's pass over dy.
import * as tf from '../../tf.js';

/** By the data of the tensor summed: the sums over all positions of each channel (the last dimension). */
const recorded = new WeakMap<tf.DataId, Float32Array>();

export function recordChannelSums(dataId: tf.DataId, sums: Float32Array): void {
  recorded.set(dataId, sums);
}

/** sum(t, all axes but the last) when the kernel that wrote t recorded it, else null. */
export function recordedChannelSums(t: tf.Tensor): tf.Tensor1D | null {
  const sums = recorded.get(t.dataId);
  if (sums === undefined || t.dtype !== 'float32' || sums.length !== t.shape[t.rank - 1]) return null;
  return tf.tensor1d(Float32Array.from(sums));
}
