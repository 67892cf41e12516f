// fused.conv2d as Keras calls it (tfjs-core's CommonJS exports, which the native engine patches):
// values and every gradient vs the cpu backend (which runs tfjs-core's original), the input
// gradient skipped when nothing needs it, the cases left to the original, a flat tensor count.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { assertMatchesCpu, randomValues, skip, type Tolerance } from './helpers.js';

/**
 * float32 sums of up to 3*3*5 products of values in [-1, 1) (and gradient sums over 2*4*3 pixels)
 * in another order: 1e-5 of each value, 1e-6 for results that cancel (measured worst 1.4e-8 beyond).
 */
const CONV_TOLERANCE: Tolerance = { abs: 1e-6, rel: 1e-5 };

const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof tf;
const x = () => tf.tensor4d(randomValues(2 * 7 * 6 * 5, 1), [2, 7, 6, 5]);
const filter = () => tf.variable(tf.tensor4d(randomValues(3 * 3 * 5 * 4, 2), [3, 3, 5, 4]));
const bias = () => tf.variable(tf.tensor1d(randomValues(4, 3)));
const weights = () => tf.tensor4d(randomValues(2 * 4 * 3 * 4, 4), [2, 4, 3, 4]);

for (const withBias of [true, false]) {
  test(`fused.conv2d (${withBias ? 'bias' : 'no bias'}, stride 2, same): value and x/filter/bias gradients match cpu`, { skip }, async () => {
    await assertMatchesCpu(() => {
      const w = weights(), f = filter(), b = bias();
      const loss = (input: tf.Tensor) => tf.sum(tf.mul(w,
        core.fused.conv2d({ x: input as tf.Tensor4D, filter: f, bias: withBias ? b : undefined, strides: 2, pad: 'same' })));
      const { value, grads } = tf.variableGrads(() => loss(x()) as tf.Scalar, withBias ? [f, b] : [f]);
      const dx = tf.grad(loss)(x());
      const out = [value, dx, grads[f.name], ...(withBias ? [grads[b.name]] : [])];
      f.dispose(); b.dispose();
      return out;
    }, CONV_TOLERANCE, 'fused.conv2d');
  });
}

test('the input gradient of a convolution on a non-variable input is not computed', { skip }, async () => {
  await tf.setBackend('native');
  const f = filter(), b = bias(), input = x(), w = weights();
  const loss = () => tf.sum(tf.mul(w, core.fused.conv2d({ x: input, filter: f, bias: b, strides: 2, pad: 'same' }))) as tf.Scalar;
  const profile = await tf.profile(() => tf.variableGrads(loss).grads[f.name]);
  const names = profile.kernels.map((k) => k.name);
  assert.ok(names.includes('Conv2DBackpropFilter'), names.join());
  assert.ok(!names.includes('Conv2DBackpropInput'), `Conv2DBackpropInput ran: ${names.join()}`);
  tf.dispose([f, b, input, w]);
});

test('fused.conv2d with ReLU or dilation (left to tfjs-core) still matches cpu; tensor count flat', { skip }, async () => {
  await assertMatchesCpu(() => {
    const f = filter();
    const relu = core.fused.conv2d({ x: x(), filter: f, strides: 1, pad: 'valid', activation: 'relu' });
    const dilated = core.fused.conv2d({ x: x(), filter: f, strides: 1, pad: 'same', dilations: 2 });
    const dx = tf.grad((input: tf.Tensor) => tf.sum(core.fused.conv2d({ x: input as tf.Tensor4D, filter: f, strides: 1, pad: 'same' })))(x());
    f.dispose();
    return [relu, dilated, dx];
  }, CONV_TOLERANCE, 'fallback cases');
  await tf.setBackend('native');
  const f = filter(), b = bias(), input = x();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(() => tf.sum(core.fused.conv2d({ x: input, filter: f, bias: b, strides: 1, pad: 'same' })) as tf.Scalar);
    tf.dispose([value, ...Object.values(grads)]);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([f, b, input]);
});
