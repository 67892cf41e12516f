import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { makeOptimizer, restoreOptimizerState, saveOptimizerState } from '../../src/train/optimizer.js';
import { assertClose as assertWithin, type Tolerance } from '../support/tolerance.js';

// float32 arithmetic on values of order 1, against updates worked by hand in decimal: a few ulps
// of each value; Adam's bias correction 1 - 0.999^t loses ~5e-5 relative accuracy in float32, and
// its steps are 0.1 (the expected weights differ from the start by it), hence its looser bound.
const TOL: Tolerance = { abs: 1e-7, rel: 1e-6 };
const ADAM_TOL: Tolerance = { abs: 1e-6, rel: 1e-5 };

const assertClose = (actual: ArrayLike<number>, expected: number[], tol = TOL) => assertWithin(actual, expected, tol, 'weights');

describe('optimisers (updates worked by hand)', () => {
  test('sgd: momentum 0.9 with L2 0.01 on a decayed variable, two steps', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.tensor1d([1, 2]));
    const g = tf.tensor1d([0.5, -1]);
    const opt = makeOptimizer('sgd', 0.1, 0.01, 0.9);
    opt.step([w], [g], [true]); // g' = g + 0.01 w = [0.51, -0.98]; w = w - 0.1 g'
    assertClose(w.dataSync(), [0.949, 2.098]);
    opt.step([w], [g], [true]); // g' = [0.50949, -0.97902]; acc = 0.9 [0.51, -0.98] + g'
    assertClose(w.dataSync(), [0.852151, 2.284102]);
    opt.dispose();
    tf.dispose([w, g]);
  });

  test('nesterov: w -= lr (g + m acc) with acc = m acc + g (PyTorch\'s and TensorFlow\'s Nesterov), two steps', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.tensor1d([1, 2]));
    const g = tf.tensor1d([0.5, -1]);
    const opt = makeOptimizer('nesterov', 0.1, 0, 0.9);
    opt.step([w], [g], [true]); // acc = g; w -= 0.1 (g + 0.9 g) = 0.19 g
    assertClose(w.dataSync(), [0.905, 2.19]);
    opt.step([w], [g], [true]); // acc = 1.9 g; w -= 0.1 (g + 1.71 g) = 0.271 g
    assertClose(w.dataSync(), [0.7695, 2.461]);
    opt.dispose();
    tf.dispose([w, g]);
  });

  test('bias lr scale: the undecayed variable moves as with a 64x learning rate, the decayed one as without', async () => {
    await tf.setBackend('cpu');
    const [kernel, bias] = [tf.variable(tf.tensor1d([1])), tf.variable(tf.tensor1d([1]))];
    const g = tf.tensor1d([0.5]);
    const opt = makeOptimizer('nesterov', 0.01, 0.1, 0.9, 64);
    opt.step([kernel, bias], [g, g], [true, false]); // kernel: 0.019 (0.5 + 0.1); bias: 0.019 * 64 * 0.5
    assertClose(kernel.dataSync(), [1 - 0.019 * 0.6]);
    assertClose(bias.dataSync(), [1 - 0.019 * 32]);
    opt.dispose();
    tf.dispose([kernel, bias, g]);
  });

  test('adamw: decoupled decay lr*wd on decayed variables only; first Adam step is lr*sign(g)', async () => {
    await tf.setBackend('cpu');
    const kernel = tf.variable(tf.tensor1d([1, 2]));
    const bias = tf.variable(tf.tensor1d([1, 2]));
    const g = tf.tensor1d([0.5, -1]);
    const opt = makeOptimizer('adamw', 0.1, 0.1, 0.9);
    opt.step([kernel, bias], [g, g], [true, false]);
    assertClose(kernel.dataSync(), [1 * 0.99 - 0.1, 2 * 0.99 + 0.1], ADAM_TOL);
    assertClose(bias.dataSync(), [0.9, 2.1], ADAM_TOL);
    opt.dispose();
    tf.dispose([kernel, bias, g]);
  });

  test('adam: a new learning rate applies to the next step', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.tensor1d([1]));
    const g = tf.tensor1d([3]);
    const opt = makeOptimizer('adam', 0.1, 0, 0.9);
    opt.setLearningRate(0.2);
    opt.step([w], [g], [true]);
    assertClose(w.dataSync(), [0.8], ADAM_TOL);
    opt.dispose();
    tf.dispose([w, g]);
  });

  for (const name of ['adam', 'sgd', 'adamw'] as const) {
    test(`${name}: saved and restored state continues exactly like the original, without leaking tensors`, async () => {
      await tf.setBackend('cpu');
      const g1 = tf.tensor1d([0.5, -1]);
      const g2 = tf.tensor1d([-0.2, 0.3]);
      const a = tf.variable(tf.tensor1d([1, 2]));
      const optA = makeOptimizer(name, 0.05, 0.01, 0.9);
      optA.step([a], [g1], [true]);
      const state = await saveOptimizerState(optA);
      assert.equal(state.iterations, 1);
      const b = tf.variable(a.clone());
      const before = tf.memory().numTensors;
      const optB = makeOptimizer(name, 0.05, 0.01, 0.9);
      await restoreOptimizerState(optB, state);
      optA.step([a], [g2], [true]);
      optB.step([b], [g2], [true]);
      assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
      optB.dispose();
      assert.equal(tf.memory().numTensors, before);
      optA.dispose();
      tf.dispose([a, b, g1, g2]);
    });
  }
});
