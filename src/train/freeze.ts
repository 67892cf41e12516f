// Freezing layers for transfer learning, with Keras's meaning of a frozen BatchNormalization layer.
//
// In Keras (since 2.1.3; the transfer-learning guide), `trainable = false` on a BatchNormalization
// layer also puts it in inference mode: it normalizes with its moving statistics and never updates
// them, even inside a training step. TensorFlow.js's BatchNormalization ignores `trainable` (its call
// reads only the `training` argument), so a frozen backbone would still normalize with batch
// statistics and drift its moving averages. `useKerasFrozenBatchNorm` wraps the registered class's
// call once so that a layer whose `trainable` is false always runs as in inference; the native
// engine's in-place batch-norm path (src/engine/native/batch_norm_layer.ts) defers to this call for
// such layers, and precise-BN recalibration (recalibrate.ts) skips them.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { headLayer } from '../models/cut.js';
import { keepFixedWeightsFrozen, ShiftBatchNormalization } from '../models/fast.js';

type Call = (this: { trainable: boolean }, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

let installed = false;

/** Makes every BatchNormalization layer whose `trainable` is false run in inference mode (idempotent). */
export function useKerasFrozenBatchNorm(): void {
  if (installed) return;
  const registered = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
  if (!registered) throw new Error('BatchNormalization is not registered with TensorFlow.js');
  installed = true;
  const proto = (registered[0] as unknown as { prototype: { call: Call } }).prototype;
  const original = proto.call;
  proto.call = function (this: { trainable: boolean }, inputs, kwargs) {
    return original.call(this, inputs, this.trainable === false && kwargs?.training ? { ...kwargs, training: false } : kwargs);
  };
}

export function isBatchNorm(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === 'BatchNormalization' || layer.getClassName() === ShiftBatchNormalization.className;
}

/** Which layers train. 'all': every layer; 'head': only the head; 'all-but-batch-norm': every layer
 *  except the BatchNormalization layers, which stay frozen (inference mode, statistics kept). */
export type Trainability = 'all' | 'head' | 'all-but-batch-norm';

/** Sets every layer's `trainable` as `which` says (frozen batch norms then run in inference mode). */
export function setTrainability(model: tf.LayersModel, which: Trainability): void {
  useKerasFrozenBatchNorm();
  const head = which === 'head' ? headLayer(model) : null;
  for (const layer of model.layers) {
    layer.trainable = which === 'all' || (which === 'head' ? layer === head : !isBatchNorm(layer));
    keepFixedWeightsFrozen(layer); // what the architecture never trains (resnet-airbench) stays frozen
  }
}
