// The native moments kernel (training-mode batch norm's statistics) and its gradient vs tfjs-core's
// moments on the cpu backend: values, gradients, through a Keras BatchNormalization layer, the
// cases it leaves to tfjs-core, and a flat tensor count.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { reducesAllButChannels } from '../../../src/engine/native/moments.js';
import { assertMatchesCpu, randomValues, skip, type Tolerance } from './helpers.js';

/**
 * Sums of ~100 float32 values and squares, differently grouped, on values of order 1: 1e-5 of each
 * result, 1e-7 for results near zero (gradients through the statistics cancel; measured worst 1e-9).
 */
const MOMENTS_TOLERANCE: Tolerance = { abs: 1e-7, rel: 1e-5 };

/** tfjs-core's moments as tfjs-layers calls it: through the CommonJS exports that the engine patches. */
const coreMoments = (createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof tf).moments;
const input = (shape: number[], seed: number) =>
  tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed).map((v) => 3 * v + 0.5), shape);

test('reducesAllButChannels accepts exactly the leading axes', () => {
  assert.equal(reducesAllButChannels([0, 1, 2], 4), true);
  assert.equal(reducesAllButChannels([2, 0, 1], 4), true);
  assert.equal(reducesAllButChannels([0], 2), true);
  assert.equal(reducesAllButChannels([0, 1], 4), false);
  assert.equal(reducesAllButChannels([1, 2, 3], 4), false);
  assert.equal(reducesAllButChannels(null, 4), false);
  assert.equal(reducesAllButChannels([0], 1), false);
});

test('moments over N, H, W: mean, variance and the gradient of both match cpu', { skip }, async () => {
  const shape = [3, 5, 4, 6];
  await assertMatchesCpu(() => {
    const w1 = tf.tensor1d(randomValues(6, 2)), w2 = tf.tensor1d(randomValues(6, 3));
    const loss = (x: tf.Tensor) => {
      const { mean, variance } = coreMoments(x, [0, 1, 2]);
      return tf.add(tf.sum(tf.mul(mean, w1)), tf.sum(tf.mul(variance, w2)));
    };
    const { mean, variance } = coreMoments(input(shape, 1), [0, 1, 2]);
    const onlyVariance = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(coreMoments(x, [0, 1, 2]).variance, w2)));
    return [mean, variance, tf.grad(loss)(input(shape, 1)), onlyVariance(input(shape, 1))];
  }, MOMENTS_TOLERANCE, 'moments');
});

test('moments of values whose mean dwarfs their spread (one pass, shifted sums) match float64', { skip }, async () => {
  // 20,000 values per channel, mean ~1000 + channel, spread ~0.01-0.1: an unshifted one-pass
  // variance would cancel to nothing in float32 (and lose ~8 of its 16 digits in double).
  const C = 4, rows = 20000;
  const values = randomValues(rows * C, 9).map((v, i) => 1000 + (i % C) + v * 0.01 * (1 + (i % C)));
  await tf.setBackend('native');
  const { mean, variance } = coreMoments(tf.tensor2d(values, [rows, C]), [0]);
  const [m, v] = [mean.dataSync(), variance.dataSync()];
  for (let c = 0; c < C; c++) {
    let sum = 0, squares = 0;
    for (let r = 0; r < rows; r++) sum += values[r * C + c];
    const exactMean = sum / rows;
    for (let r = 0; r < rows; r++) squares += (values[r * C + c] - exactMean) ** 2;
    const exactVariance = squares / rows;
    assert.ok(Math.abs(m[c] - exactMean) <= 1e-7 * Math.abs(exactMean), `mean ${c}: ${m[c]} vs ${exactMean}`);
    // The reference uses the same float32 inputs; the kernel's float block sums of d^2 give ~1e-6.
    assert.ok(Math.abs(v[c] - exactVariance) <= 1e-4 * exactVariance, `variance ${c}: ${v[c]} vs ${exactVariance}`);
  }
  tf.dispose([mean, variance]);
});

test('a BatchNormalization layer in training mode: output and gradients match cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const layer = tf.layers.batchNormalization({ axis: 3, gammaInitializer: 'ones', betaInitializer: 'zeros' });
    layer.build([2, 4, 3, 5]);
    const w = input([2, 4, 3, 5], 7);
    const f = (x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w));
    const { value, grads } = tf.variableGrads(() => f(input([2, 4, 3, 5], 5)) as tf.Scalar);
    const dx = tf.grad(f)(input([2, 4, 3, 5], 5));
    const out = [value, dx, ...layer.trainableWeights.map((v) => grads[v.name])];
    for (const v of layer.weights) v.dispose(); // the layer was applied eagerly, so layer.dispose() refuses
    return out;
  }, MOMENTS_TOLERANCE, 'batch norm layer');
  // ... and the layer did go through the native kernels.
  await tf.setBackend('native');
  const layer = tf.layers.batchNormalization({ axis: 3 });
  const info = await tf.profile(() => tf.grad((x: tf.Tensor) => tf.sum(layer.apply(x, { training: true }) as tf.Tensor))(input([2, 2, 2, 3], 1)));
  // Statistics by the native moments; normalization and its whole gradient (through the statistics
  // too) by batch_norm_training.ts's fused kernels, so the moments' own gradient is not needed.
  for (const kernel of ['NativeMoments', 'NativeBatchNormTraining', 'NativeBatchNormTrainingGrad']) {
    assert.ok(info.kernelNames.includes(kernel), `${kernel} missing: ${info.kernelNames.join()}`);
  }
  for (const kernel of ['NativeMomentsGrad', 'FusedBatchNorm', 'NativeFusedBatchNormGrad']) {
    assert.ok(!info.kernelNames.includes(kernel), `${kernel} ran: ${info.kernelNames.join()}`);
  }
  for (const v of layer.weights) v.dispose();
});

test('moments with keepDims, other axes or rank 1 are left to tfjs-core and match cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const x = input([3, 4, 5], 9);
    const a = coreMoments(x, [0, 1], true), b = coreMoments(x, [1, 2]), c = coreMoments(input([7], 4), [0]);
    return [a.mean, a.variance, b.mean, b.variance, c.mean, c.variance];
  }, MOMENTS_TOLERANCE, 'moments fallbacks');
});

test('the native moments and its gradient leave no tensors behind', { skip }, async () => {
  await tf.setBackend('native');
  const x = input([2, 3, 3, 4], 11);
  const step = () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(coreMoments(t, [0, 1, 2]).variance))(x));
  tf.dispose(step());
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.dispose(step());
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});
