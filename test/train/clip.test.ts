// Gradient clipping by global norm: values worked by hand, the no-op case, no leaked tensors, and
// its effect through a training step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../src/tf.js';
import '../../src/engine/backends.js';
import { clipByGlobalNorm } from '../../src/train/clip.js';
import { trainStep } from '../../src/train/loop.js';
import { makeOptimizer } from '../../src/train/optimizer.js';

test('gradients above the limit are scaled to it, together (global norm 13 -> 6.5)', async () => {
  await tf.setBackend('cpu');
  // |(3, 4)|^2 + |(12)|^2 = 25 + 144 = 169: norm 13; limit 6.5 halves every gradient.
  const grads = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])];
  const { clipped, norm } = clipByGlobalNorm(grads, 6.5);
  assert.equal(norm, 13);
  assert.deepEqual([...clipped[0].dataSync()], [1.5, 2]);
  assert.deepEqual([...clipped[1].dataSync()], [6]);
  tf.dispose([...grads, ...clipped]);
});

test('gradients within the limit are returned as they are, and nothing leaks', async () => {
  await tf.setBackend('cpu');
  const grads = [tf.tensor1d([3, 4])];
  const before = tf.memory().numTensors;
  const { clipped, norm } = clipByGlobalNorm(grads, 5);
  assert.equal(norm, 5);
  assert.equal(clipped, grads);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(grads);
});

test('a training step with --clip-norm moves plain SGD weights by exactly lr * the limit', async () => {
  await tf.setBackend('cpu');
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], activation: 'softmax', kernelInitializer: 'zeros' })] });
  const optimizer = makeOptimizer('sgd', 1, 0, 0); // momentum 0: w -= lr * g
  const xs = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]), ys = tf.tensor2d([[1, 0], [0, 1]]);
  const values = () => model.getWeights().map((w) => Float32Array.from(w.dataSync()));
  const before = values();
  const { loss, correct } = trainStep(model, optimizer, xs, ys, [false, false], 1e-3);
  const after = values();
  const moved = Math.sqrt(before.reduce((s, b, i) => s + b.reduce((t, v, j) => t + (after[i][j] - v) ** 2, 0), 0));
  assert.ok(Math.abs(moved - 1e-3) < 1e-8, `moved ${moved}`); // float32 rounding of a 1e-3 step
  tf.dispose([xs, ys, loss, correct]);
  optimizer.dispose();
  model.dispose();
});
