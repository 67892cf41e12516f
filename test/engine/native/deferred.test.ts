// Deferred outputs (deferred.ts): batch norm and same-shape Add leave their output uncomputed; a
// Relu after them runs in one pass; any other reader gets the eager values. Checked against the
// cpu backend, for exact equality with deferral turned off, for the deferred state itself, and for
// a flat tensor and storage count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { isDeferred, setDeferral } from '../../../src/engine/native/deferred.js';
import { loadAddon } from '../../../src/engine/native/addon.js';
import { buildModel } from '../../../src/models/registry.js';
import { assertMatchesCpu, randomValues, runOn, skip, type Tolerance } from './helpers.js';

/**
 * Per-element arithmetic in the same order as the cpu kernels on values of order 1, with another
 * sqrt/division rounding: 1e-6 of each value, 1e-7 for values near zero (measured worst 1e-7).
 */
const TOLERANCE: Tolerance = { abs: 1e-7, rel: 1e-6 };

const shape = [2, 5, 4, 8];
const x = () => tf.tensor4d(randomValues(2 * 5 * 4 * 8, 1), shape as [number, number, number, number]);
const y = () => tf.tensor4d(randomValues(2 * 5 * 4 * 8, 2), shape as [number, number, number, number]);
const perChannel = (seed: number, shift = 0) => tf.tensor1d(randomValues(8, seed).map((v) => v + shift));
const batchNorm = (t: tf.Tensor) => tf.batchNorm(t, perChannel(3), perChannel(4, 2), perChannel(5), perChannel(6, 1), 1e-3);
const backend = () => tf.backend() as never;

test('Relu after batch norm and after a same-shape Add, and the deferred outputs read directly, match cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const bn = batchNorm(x()), sum = tf.add(x(), y());
    return [tf.relu(bn), tf.relu(sum), bn, sum, tf.relu(tf.add(bn, sum))];
  }, TOLERANCE, 'deferred');
});

test('training: gradients through batch norm + ReLU and Add + ReLU (the ReLU gradient read from its output) match cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const layer = tf.layers.batchNormalization({ axis: 3, gammaInitializer: tf.initializers.constant({ value: 1.5 }) });
    layer.build(shape);
    const w = y();
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const h = tf.relu(layer.apply(a, { training: true }) as tf.Tensor);
      return tf.sum(tf.mul(tf.relu(tf.add(h, b)), w));
    };
    const [da, db] = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x(), tf.mul(y(), 2)]);
    const { grads } = tf.variableGrads(() => f(x(), y()) as tf.Scalar, layer.trainableWeights.map((v) => v.read() as tf.Variable));
    const out = [da, db, ...Object.values(grads)];
    layer.weights.forEach((v) => v.dispose());
    return out;
  }, { abs: 1e-7, rel: 1e-5 }, 'bn/add + relu gradients'); // per-channel gradient sums over 40 positions
});

test('a Relu leaves its deferred input uncomputed; reading it computes it once', { skip }, async () => {
  await tf.setBackend('native');
  const bn = batchNorm(x());
  assert.ok(isDeferred(backend(), bn.dataId));
  const r = tf.relu(bn);
  assert.ok(isDeferred(backend(), bn.dataId), 'the Relu computed its input');
  assert.ok(!isDeferred(backend(), r.dataId));
  const values = bn.dataSync();
  assert.ok(!isDeferred(backend(), bn.dataId));
  assert.deepEqual([...r.dataSync()], [...values].map((v) => (v < 0 ? 0 : v)));
  tf.dispose([bn, r]);
});

test('a deferred output keeps its inputs: disposing them first changes nothing', { skip }, async () => {
  const expected = await runOn('native', () => tf.add(x(), y()));
  await tf.setBackend('native');
  const a = x(), b = y();
  const sum = tf.add(a, b);
  tf.dispose([a, b]);
  // Arrays recycled by the buffer pool meanwhile must not be a's or b's.
  tf.dispose(tf.tidy(() => [tf.mul(x(), 3), tf.mul(y(), 5)]));
  assert.deepEqual([...sum.dataSync()], [...expected[0]]);
  sum.dispose();
});

test('deferred outputs disposed unread leave no tensors and no storage behind', { skip }, async () => {
  await tf.setBackend('native');
  const a = x(), b = y();
  const run = () => tf.tidy(() => { tf.relu(batchNorm(a)); tf.relu(tf.add(a, b)); tf.add(batchNorm(b), b); });
  run();
  const tensors = tf.memory().numTensors, dataIds = tf.engine().backend.numDataIds();
  for (let i = 0; i < 3; i++) run();
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
  tf.dispose([a, b]);
});

test('ResNet-20 training steps give bit-identical weights with deferral on and off', { skip }, async () => {
  await tf.setBackend('native');
  const train = async (deferral: boolean) => {
    const before = setDeferral(deferral);
    try {
      const model = buildModel('resnet20', { inputShape: [8, 8, 3], classes: 3 });
      model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
      const xs = tf.tensor4d(randomValues(4 * 8 * 8 * 3, 11), [4, 8, 8, 3]);
      const ys = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3), 'float32');
      for (let i = 0; i < 2; i++) await model.trainOnBatch(xs, ys);
      const predicted = (model.predict(xs) as tf.Tensor).dataSync();
      const weights = model.getWeights().map((w) => w.dataSync().slice());
      tf.dispose([xs, ys]);
      model.dispose();
      return [predicted, ...weights];
    } finally {
      setDeferral(before);
    }
  };
  const off = await train(false), on = await train(true);
  assert.equal(on.length, off.length);
  on.forEach((w, i) => assert.deepEqual([...w], [...off[i]], `array ${i}`));
});

test('the ReLU gradient of an accumulated gradient (a deferred Add) reads the two addends: one pass, same values', { skip }, async () => {
  const addon = loadAddon()!;
  const original = addon.addReluGrad;
  let fusedCalls = 0;
  addon.addReluGrad = (...args: Parameters<typeof original>) => { fusedCalls++; original(...args); };
  try {
    // h feeds two paths, so the tape adds their gradients before the ReLU gradient of h.
    const f = (a: tf.Tensor) => {
      const h = tf.relu(a);
      return tf.sum(tf.mul(tf.relu(tf.add(tf.mul(h, y()), h)), x()));
    };
    await assertMatchesCpu(() => tf.grad(f)(tf.mul(x(), 1.3)), TOLERANCE, 'relu gradient of a sum');
    assert.ok(fusedCalls > 0, 'the fused kernel ran');
  } finally {
    addon.addReluGrad = original;
  }
  await tf.setBackend('native');
  const sum = tf.add(x(), y()), relu = tf.relu(y());
  const dx = tf.engine().runKernel('NativeReluGrad', { dy: sum, x: relu }) as tf.Tensor;
  assert.ok(isDeferred(backend(), sum.dataId), 'the sum was computed');
  const [s, r] = [sum.dataSync(), relu.dataSync()];
  assert.deepEqual([...dx.dataSync()], [...s].map((v, i) => v * (r[i] > 0 ? 1 : 0)));
  tf.dispose([sum, relu, dx]);
});

test('a residual Add of a deferred batch norm, then ReLU: one pass that never computes the batch norm, same values as cpu', { skip }, async () => {
  await assertMatchesCpu(() => [
    tf.relu(tf.add(batchNorm(x()), y())), tf.relu(tf.add(y(), batchNorm(x()))), tf.add(batchNorm(x()), y()),
    tf.relu(tf.add(batchNorm(x()), batchNorm(y()))),
  ], TOLERANCE, 'batch norm + residual');
  await tf.setBackend('native');
  const bn = batchNorm(x()), shortcut = y();
  const sum = tf.add(bn, shortcut);
  assert.ok(isDeferred(backend(), sum.dataId), 'the Add is deferred');
  const out = tf.relu(sum);
  assert.ok(isDeferred(backend(), bn.dataId), 'the fused pass did not compute the batch norm');
  const [b, s, o] = [bn.dataSync(), shortcut.dataSync(), out.dataSync()];
  assert.deepEqual([...o], [...b].map((v, i) => Math.max(0, Math.fround(v + s[i]))), 'relu(bn + shortcut), bit for bit');
  // Read in the other order: the batch norm computed first, then the Add falls back to a plain sum.
  const bn2 = batchNorm(x()), sum2 = tf.add(bn2, shortcut);
  const b2 = bn2.dataSync();
  assert.deepEqual([...tf.relu(sum2).dataSync()], [...b2].map((v, i) => Math.max(0, Math.fround(v + s[i]))));
  tf.dispose([bn, shortcut, sum, out, bn2, sum2]);
});
