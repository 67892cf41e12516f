// Keras BatchNormalization in training on the native engine (batch_norm_layer.ts): the moving
// mean and variance are updated in place with tfjs-layers' own float32 operations (checked bit for
// bit against that formula), without kernel runs; a variable whose storage another tensor shares
// is updated by a new tensor instead, so that the other tensor keeps its values.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { randomValues, skip } from './helpers.js';

const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof tf;
const shape = [2, 3, 3, 5];
const batch = (seed: number) => tf.tensor4d(randomValues(90, seed).map((v) => 2 * v + 0.3), shape as [number, number, number, number]);

interface MovingStatistics { movingMean: { read(): tf.Tensor }; movingVariance: { read(): tf.Tensor } }

/** v - (v - x) * (1 - momentum), each operation rounded to float32 (tfjs-layers' moving average). */
function movingAverage(v: Float32Array, x: Float32Array, momentum: number): Float32Array {
  const decay = Math.fround(1 - momentum);
  return v.map((value, i) => Math.fround(value - Math.fround(Math.fround(value - x[i]) * decay)));
}

test('moving mean and variance: tfjs-layers\' formula bit for bit, in place, with no kernel runs', { skip }, async () => {
  await tf.setBackend('native');
  const layer = tf.layers.batchNormalization({ axis: -1, momentum: 0.9 });
  layer.build(shape);
  const stats = layer as unknown as MovingStatistics;
  let mean: Float32Array = Float32Array.from(stats.movingMean.read().dataSync());
  let variance: Float32Array = Float32Array.from(stats.movingVariance.read().dataSync());
  for (let step = 0; step < 3; step++) {
    const x = batch(step);
    const moments = core.moments(x, [0, 1, 2]);
    mean = movingAverage(mean, moments.mean.dataSync() as Float32Array, 0.9);
    variance = movingAverage(variance, moments.variance.dataSync() as Float32Array, 0.9);
    const info = await tf.profile(() => layer.apply(x, { training: true }) as tf.Tensor);
    assert.deepEqual(info.kernelNames.filter((k) => k === 'Sub' || k === 'Multiply'), [], info.kernelNames.join());
    assert.deepEqual([...stats.movingMean.read().dataSync()], [...mean], `moving mean after step ${step}`);
    assert.deepEqual([...stats.movingVariance.read().dataSync()], [...variance], `moving variance after step ${step}`);
    tf.dispose([x, moments.mean, moments.variance]);
  }
  for (const v of layer.weights) v.dispose();
});

test('a moving mean whose storage another tensor shares is replaced, not overwritten', { skip }, async () => {
  await tf.setBackend('native');
  const layer = tf.layers.batchNormalization({ axis: 3, momentum: 0.5 });
  layer.build(shape);
  const stats = layer as unknown as MovingStatistics;
  const held = tf.clone(stats.movingMean.read()); // same data, one more reference
  const before = Float32Array.from(held.dataSync());
  const x = batch(7);
  const moments = core.moments(x, [0, 1, 2]);
  const expected = movingAverage(before, moments.mean.dataSync() as Float32Array, 0.5);
  tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
  assert.deepEqual([...stats.movingMean.read().dataSync()], [...expected], 'updated');
  assert.deepEqual([...held.dataSync()], [...before], 'the other tensor kept its values');
  tf.dispose([held, x, moments.mean, moments.variance]);
  for (const v of layer.weights) v.dispose();
});
