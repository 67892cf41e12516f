// Training-mode batch norm fused with its own statistics (batch_norm_training.ts) vs tfjs-core's
// moments + batchNorm chain on the cpu backend: outputs, the gradients of x, gamma and beta, the
// moving averages, inputs whose mean dwarfs their spread, rank 2, the calls left to the original,
// and a flat tensor count. (Layers without gamma or beta are not tested: in tfjs 4.22 they fail in
// training on every backend, in tfjs-layers' call and in the tape's saving of a missing scale.)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { loadAddon } from '../../../src/engine/native/addon.js';
import { assertClose, assertMatchesCpu, randomValues, skip, type Tolerance } from './helpers.js';

/**
 * Per-channel sums in double over <= 100 positions of values of order 1, grouped differently: 1e-5 of
 * each value, 1e-7 for results near zero.
 */
const TOLERANCE: Tolerance = { abs: 1e-7, rel: 1e-5 };

const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof tf;
const input = (shape: number[], seed: number, scale = 3, shift = 0.5) =>
  tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed).map((v) => scale * v + shift), shape);

/** A Keras BatchNormalization layer in training mode: loss, d loss / dx, the weights' gradients, moving statistics. */
function layerStep(shape: number[], x: () => tf.Tensor) {
  return () => {
    const layer = tf.layers.batchNormalization({
      axis: shape.length - 1, momentum: 0.9,
      gammaInitializer: tf.initializers.randomNormal({ mean: 1, stddev: 0.5, seed: 3 }),
      betaInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.5, seed: 4 }),
    });
    layer.build(shape);
    const w = input(shape, 7);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t, { training: true }) as tf.Tensor, w));
    const { value, grads } = tf.variableGrads(() => f(x()) as tf.Scalar);
    const dx = tf.grad(f)(x());
    const out = [value, dx, ...layer.trainableWeights.map((v) => grads[v.name]),
      ...layer.nonTrainableWeights.map((v) => tf.clone(v.read()))];
    for (const v of layer.weights) v.dispose(); // applied eagerly: layer.dispose() refuses
    return out;
  };
}

test('batch norm layer: output, gradients of x, gamma and beta, and moving statistics match cpu', { skip }, async () => {
  await assertMatchesCpu(layerStep([3, 4, 5, 8], () => input([3, 4, 5, 8], 5)), TOLERANCE, 'layer');
});

/**
 * Training-mode batch norm and the gradients of sum(y * w) in float64, by the textbook formulas:
 * y = gamma (x - mean) r + beta, dx = gamma r (w - mean(w) - xhat mean(w xhat)), dgamma = sum(w xhat),
 * dbeta = sum(w), with r = 1 / sqrt(variance + epsilon) and xhat = (x - mean) r.
 */
function batchNormReference(x: Float32Array, w: Float32Array, gamma: Float32Array, beta: Float32Array, epsilon: number) {
  const C = gamma.length, rows = x.length / C;
  const y = new Float64Array(x.length), dx = new Float64Array(x.length);
  const dgamma = new Float64Array(C), dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let mean = 0, variance = 0, meanW = 0, meanWXhat = 0;
    for (let r = 0; r < rows; r++) mean += x[r * C + c] / rows;
    for (let r = 0; r < rows; r++) variance += (x[r * C + c] - mean) ** 2 / rows;
    const inv = 1 / Math.sqrt(variance + epsilon);
    for (let r = 0; r < rows; r++) {
      const i = r * C + c, xhat = (x[i] - mean) * inv;
      y[i] = gamma[c] * xhat + beta[c];
      meanW += w[i] / rows;
      meanWXhat += (w[i] * xhat) / rows;
      dgamma[c] += w[i] * xhat;
      dbeta[c] += w[i];
    }
    for (let r = 0; r < rows; r++) {
      const i = r * C + c;
      dx[i] = gamma[c] * inv * (w[i] - meanW - (x[i] - mean) * inv * meanWXhat);
    }
  }
  return [y, dx, dgamma, dbeta];
}

test('batch norm of values whose mean is 1000 times their spread: native matches float64', { skip }, async () => {
  const shape = [2, 3, 3, 4], epsilon = 1e-3;
  const xv = randomValues(72, 9).map((v) => 10 + 0.01 * v), wv = randomValues(72, 8);
  const gv = randomValues(4, 6).map((v) => 1 + 0.5 * v), bv = randomValues(4, 5);
  await tf.setBackend('native');
  const actual = tf.tidy(() => {
    const w = tf.tensor(wv, shape), gamma = tf.tensor1d(gv), beta = tf.tensor1d(bv);
    const normalize = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = core.moments(x, [0, 1, 2]);
      return core.batchNorm4d(x as tf.Tensor4D, mean as tf.Tensor1D, variance as tf.Tensor1D, b as tf.Tensor1D, g as tf.Tensor1D, epsilon);
    };
    const grads = tf.grads((x, g, b) => tf.sum(tf.mul(normalize(x, g, b), w)))([tf.tensor(xv, shape), gamma, beta]);
    return [normalize(tf.tensor(xv, shape), gamma, beta), ...grads].map((t) => t.dataSync() as Float32Array);
  });
  const expected = batchNormReference(xv, wv, gv, bv, epsilon);
  // The float32 mean of values near 10 is off by ~1e-6 (float partial sums of ~160, rounded to
  // float32); y and dx multiply that by gamma r <= 1.5 / sqrt(1e-3) ~ 47: ~5e-5. The rest is float32
  // rounding of the results.
  const LARGE_MEAN_TOLERANCE: Tolerance = { abs: 1e-4, rel: 1e-4 };
  ['y', 'dx', 'dgamma', 'dbeta'].forEach((name, k) => {
    assertClose(actual[k], Float32Array.from(expected[k]), LARGE_MEAN_TOLERANCE, `large mean: ${name}`);
  });
});

test('rank-2 inputs (a dense layer\'s batch norm) take the fused path too and match cpu', { skip }, async () => {
  await assertMatchesCpu(layerStep([16, 6], () => input([16, 6], 3)), TOLERANCE, 'rank 2');
});

test('batchNorm4d with statistics that are not the moments of x is left to FusedBatchNorm', { skip }, async () => {
  await tf.setBackend('native');
  const x = input([2, 3, 3, 4], 1), other = input([2, 3, 3, 4], 2), gamma = input([4], 3), beta = input([4], 4);
  const { mean, variance } = core.moments(other, [0, 1, 2]);
  const normalize = (t: tf.Tensor) => core.batchNorm4d(t as tf.Tensor4D, mean as tf.Tensor1D, variance as tf.Tensor1D, beta as tf.Tensor1D, gamma as tf.Tensor1D);
  const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(normalize(t)))(x));
  assert.ok(info.kernelNames.includes('FusedBatchNorm') && !info.kernelNames.includes('NativeBatchNormTraining'), info.kernelNames.join());
  tf.dispose([x, other, gamma, beta, mean, variance]);
});

test('the fused batch norm and its gradient leave no tensors behind', { skip }, async () => {
  await tf.setBackend('native');
  const layer = tf.layers.batchNormalization({ axis: 3 });
  layer.build([2, 3, 3, 4]);
  const x = input([2, 3, 3, 4], 11);
  const step = () => tf.tidy(() => tf.variableGrads(() => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar).grads);
  tf.dispose(step());
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.dispose(step());
  assert.equal(tf.memory().numTensors, before);
  for (const v of layer.weights) v.dispose();
  x.dispose();
});

test('the training batch-norm gradient sums dx per channel as it writes it (the bias gradient)', { skip }, () => {
  // Called directly with statistics that are not those of x, so that the sums of dx are far from 0.
  const addon = loadAddon()!;
  const C = 24, rows = 300; // 7,200 values: over the addon's threshold for two threads
  const x = randomValues(rows * C, 1), dy = randomValues(rows * C, 2);
  const mean = randomValues(C, 3), variance = randomValues(C, 4).map((v) => v + 1.5), scale = randomValues(C, 5);
  const dx = new Float32Array(rows * C), dxSums = new Float32Array(C);
  addon.batchNormTrainingGrad(x, mean, variance, scale, dy, 0.001, dx, new Float32Array(C), new Float32Array(C), dxSums);
  const expected = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += dx[r * C + c];
    expected[c] = sum;
  }
  assert.ok(expected.some((v) => Math.abs(v) > 1), 'the sums are not trivially zero');
  assertClose(dxSums, expected, { abs: 1e-5, rel: 1e-5 }, 'dx sums');
});

test('a convolution bias before a training batch norm takes its gradient from the batch-norm gradient (no Sum kernel)', { skip }, async () => {
  const model = () => {
    const x = input([2, 5, 5, 3], 11);
    const filter = input([3, 3, 3, 4], 12, 0.5, 0), bias = input([4], 13, 0.5, 0);
    const layer = tf.layers.batchNormalization({ axis: 3 });
    layer.build([2, 5, 5, 4]);
    const f = (b: tf.Tensor) => {
      const y = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, bias: b, strides: 1, pad: 'same' });
      return tf.sum(tf.mul(layer.apply(y, { training: true }) as tf.Tensor, input([2, 5, 5, 4], 14)));
    };
    const db = tf.grad(f)(bias);
    for (const v of layer.weights) v.dispose();
    return db;
  };
  // The bias gradient under a training batch norm is zero up to rounding (both sides ~5e-7 of noise
  // from sums of terms of order 1): this checks it is that noise and not a real gradient.
  await assertMatchesCpu(model, { abs: 5e-6, rel: 1e-5 }, 'bias gradient');
  await tf.setBackend('native');
  const info = await tf.profile(() => model());
  // The loss's own Sum gives one value; a bias gradient's would give 4.
  assert.deepEqual(info.kernels.filter((k) => k.name === 'Sum').map((k) => k.outputShapes), [[[]]]);
});
