// The native engine and the gradient tape (tape.ts): a first-order gradient keeps its saved tensors
// without Identity kernel runs, gives the cpu backend's values and frees everything; nested
// (higher-order) gradients go through tfjs-core's own clone and differentiable gradients (the
// native gradient kernels of Square, Relu, Mean and moments have no gradient of their own) and
// match cpu.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { assertMatchesCpu, randomValues, skip, type Tolerance } from './helpers.js';

/** Gradients of up to ~80 through a convolution's sums (another order): 1e-5 of each, 1e-6 near zero. */
const TAPE_TOLERANCE: Tolerance = { abs: 1e-6, rel: 1e-5 };

/** A function whose gradient saves inputs and outputs (Multiply, Exp, Relu, Conv2D). */
function f(x: tf.Tensor): tf.Tensor {
  const image = tf.reshape(x, [1, 4, 4, 2]) as tf.Tensor4D;
  const conv = tf.conv2d(image, tf.tensor4d(randomValues(3 * 3 * 2 * 3, 7), [3, 3, 2, 3]), 1, 'same');
  return tf.sum(tf.mul(tf.exp(tf.relu(conv)), tf.sum(tf.mul(x, x))));
}
const input = () => tf.tensor1d(randomValues(32, 3).map((v) => v * 0.5));

async function identityRuns(backend: 'cpu' | 'native'): Promise<number> {
  await tf.setBackend(backend);
  const x = input();
  const info = await tf.profile(() => tf.grad(f)(x));
  x.dispose();
  return info.kernels.filter((k) => k.name === 'Identity').length;
}

test('a first-order gradient on native saves tensors without Identity kernel runs', { skip }, async () => {
  assert.ok(await identityRuns('cpu') > 0, 'the cpu backend clones saved tensors with Identity');
  assert.equal(await identityRuns('native'), 0);
});

test('first-order gradients match cpu and leave no tensors behind', { skip }, async () => {
  await assertMatchesCpu(() => tf.grad(f)(input()), TAPE_TOLERANCE, 'grad');
  await tf.setBackend('native');
  const x = input();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.grad(f)(x).dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

test('second-order gradients (nested tapes) match cpu', { skip }, async () => {
  const g = (x: tf.Tensor) => {
    const { variance } = tf.moments(tf.reshape(x, [4, 8]), [0]);
    return tf.addN([tf.sum(tf.mul(tf.exp(tf.mul(x, 0.3)), tf.square(tf.relu(x)))), tf.sum(variance), tf.mean(tf.square(x))]);
  };
  await assertMatchesCpu(() => tf.grad((x: tf.Tensor) => tf.sum(tf.grad(g)(x)))(input()), TAPE_TOLERANCE, 'second-order grad');
});
