// Keras's BatchNormalization layer in training, with its moving averages updated in place.
//
// tfjs-layers' BatchNormalization.call, in training, normalizes the batch with its own statistics
// (moments, then batchNorm: the native kernels of moments.ts and batch_norm_training.ts) and then
// updates the moving mean and variance, each with three tiny kernels under the gradient tape
// (v - (v - x) * (1 - momentum)) and an assign: in a ResNet-50 step 318 of its 897 kernel runs,
// and ~7% of the step's time (measured by skipping them). While the 'native' backend is active,
// a training call normalizing over the last axis (no broadcasting; rank 2 to 4) runs the same
// steps, with each moving average updated by one pass over its per-channel array, in place and
// outside the tape, with the same float32 operations in the same order (so the same values). A
// variable whose storage another tensor shares is updated with tfjs ops, as tfjs-layers does; so
// is everything else (inference, other axes), by tfjs-layers' own call.
//
// The layer class is reached through TensorFlow.js's serialization registry (making an instance
// would take one of Keras's automatic layer names).
import { createRequire } from 'node:module';
import * as tf from '../../tf.js';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { f32 } from './kernel_util.js';
import { noteInPlaceUpdate } from './optimizer.js';

/** The BatchNormalization fields the training path reads (not in tfjs-layers' public typings). */
interface BatchNormalizationLayer {
  axis: number;
  trainable: boolean;
  momentum: number;
  epsilon: number;
  gamma: LayerVariable | null;
  beta: LayerVariable | null;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}
interface LayerVariable {
  read(): tf.Variable;
  write(value: tf.Tensor): void;
}
type Call = (this: BatchNormalizationLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }) => tf.Tensor;
type BatchNorm = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset?: tf.Tensor, scale?: tf.Tensor,
  varianceEpsilon?: number) => tf.Tensor;
interface Core {
  moments(x: tf.Tensor, axis: number[]): { mean: tf.Tensor; variance: tf.Tensor };
  batchNorm2d: BatchNorm; batchNorm3d: BatchNorm; batchNorm4d: BatchNorm;
}

/**
 * variable <- variable - (variable - value) * (1 - momentum), as tfjs-layers computes it (each
 * operation rounded to float32): in place when the variable's storage is its own, else with tfjs ops.
 */
function updateMovingAverage(variable: LayerVariable, value: tf.Tensor, momentum: number): void {
  const backend = tf.backend() as MathBackendCPU;
  const current = variable.read();
  const moving = f32(backend, current), batch = f32(backend, value);
  const decay = Math.fround(1 - momentum);
  if (moving && batch && moving.length === batch.length && backend.data.get(current.dataId).refCount === 1) {
    noteInPlaceUpdate();
    for (let i = 0; i < moving.length; i++) moving[i] = moving[i] - Math.fround(Math.fround(moving[i] - batch[i]) * decay);
    return;
  }
  tf.tidy(() => variable.write(tf.sub(current, tf.mul(tf.sub(current, value), decay))));
}

let installed = false;

export function installNativeBatchNormLayer(backendName: string): void {
  if (installed) return;
  installed = true;
  const registered = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
  if (!registered) return;
  const proto = (registered[0] as unknown as { prototype: { call: Call } }).prototype;
  const original = proto.call;
  const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as Core;
  proto.call = function (this: BatchNormalizationLayer, inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const batchNorm = [core.batchNorm2d, core.batchNorm3d, core.batchNorm4d][input?.rank - 2];
    const lastAxis = this.axis === -1 || this.axis === input?.rank - 1;
    // A frozen layer (trainable false) runs in inference mode, as in Keras (src/train/freeze.ts).
    if (!kwargs?.training || this.trainable === false || tf.getBackend() !== backendName || (Array.isArray(inputs) && inputs.length !== 1) ||
        !batchNorm || !lastAxis || input.dtype !== 'float32') {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const { mean, variance } = core.moments(input, [...Array(input.rank - 1).keys()]);
      const normed = batchNorm(input, mean, variance, this.beta?.read(), this.gamma?.read(), this.epsilon);
      updateMovingAverage(this.movingMean, mean, this.momentum);
      updateMovingAverage(this.movingVariance, variance, this.momentum);
      return normed;
    });
  };
}
