// A frozen BatchNormalization layer (trainable false) on the native engine when Keras's frozen
// semantics (src/train/freeze.ts) were installed *before* the native engine wrapped the layer's call:
// the native in-place training path must then step aside itself (batch_norm_layer.ts). The other
// order is covered by test/train/freeze.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { useKerasFrozenBatchNorm } from '../../../src/train/freeze.js';

useKerasFrozenBatchNorm();
const { randomValues, skip } = await import('./helpers.js'); // registers the native engine now

test('native, frozen semantics installed first: a frozen layer normalizes with, and keeps, its moving statistics', { skip }, async () => {
  await tf.setBackend('native');
  const layer = tf.layers.batchNormalization({ axis: -1, momentum: 0.9 });
  const x = tf.tensor4d(randomValues(2 * 3 * 3 * 4, 3).map((v) => 2 * v + 0.5), [2, 3, 3, 4]);
  layer.build(x.shape);
  layer.setWeights([tf.ones([4]), tf.zeros([4]), tf.fill([4], 0.25), tf.fill([4], 3)]);
  layer.trainable = false;
  const y = layer.apply(x, { training: true }) as tf.Tensor;
  const [, , mean, variance] = layer.getWeights();
  assert.deepEqual(Array.from(mean.dataSync()), [0.25, 0.25, 0.25, 0.25]);
  assert.deepEqual(Array.from(variance.dataSync()), [3, 3, 3, 3]);
  // Inference by hand: (x - 0.25) / sqrt(3 + epsilon 0.001), to float32 rounding (1e-6 absolute).
  const expected = Array.from(x.dataSync(), (v) => (v - 0.25) / Math.sqrt(3.001));
  Array.from(y.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-6, `${i}: ${v} vs ${expected[i]}`));
  tf.dispose([x, y]);
  for (const w of layer.weights) w.dispose();
});
