// The training loss: its value and its gradient against the softmax's logits, worked by hand in
// float64 (p - y over the batch), on both engines, including examples whose true class is far below
// Keras's clip of 1e-7 (where a clipped loss has no gradient at all).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../src/tf.js';
import '../../src/engine/backends.js';
import { nativeSkip } from '../support/native.js';
import { evaluateModel } from '../../src/train/evaluate.js';
import { correctCount, crossEntropy } from '../../src/train/loss.js';

/** Softmax of one row in float64. */
function softmax64(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

// Row 0: true class 2 at p = e^-40 / (1 + ...) ≈ 4e-18; row 1: ordinary; row 2: smoothed targets,
// confidently right; row 3: true class at p ≈ e^-80 (still a normal float32).
const logits = [
  [40, 0, 0, -3],
  [0.5, -1.2, 2.0, 0.1],
  [-2, 9, 1, 0],
  [80, 0, 0, 0],
];
const targets = [
  [0, 0, 1, 0],
  [0, 1, 0, 0],
  [0.025, 0.925, 0.025, 0.025],
  [0, 0, 0, 1],
];

for (const backend of ['cpu', 'native']) {
  test(`${backend}: value and gradient are softmax cross-entropy's, even where p < 1e-7`, { skip: backend === 'native' ? nativeSkip : false }, async () => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const ys = tf.tensor2d(targets);
    const x = tf.tensor2d(logits);
    const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => crossEntropy(ys, tf.softmax(z)))(x);
    const n = logits.length;
    const p = logits.map(softmax64);
    const want = -targets.reduce((s, y, i) => s + y.reduce((t, yj, j) => t + yj * Math.log(p[i][j]), 0), 0) / n;
    // Float32 softmax: each log p within ~1e-6 relative, and the loss is ~30 nats here.
    assert.ok(Math.abs(value.dataSync()[0] - want) < 1e-5 * want, `loss ${value.dataSync()[0]} vs ${want}`);
    const g = grad.arraySync() as number[][];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 4; j++) {
        const expected = (p[i][j] - targets[i][j]) / n;
        assert.ok(Math.abs(g[i][j] - expected) < 1e-6, `row ${i} class ${j}: ${g[i][j]} vs ${expected}`);
      }
    }
    // The saturated rows get their full push: -1/n on the true class.
    assert.ok(g[0][2] < -0.99 / n && g[3][3] < -0.99 / n);
    tf.dispose([ys, x, value, grad]);
    assert.equal(tf.memory().numTensors, before);
  });
}

test('correctCount counts arg-max agreements', async () => {
  await tf.setBackend('cpu');
  const c = correctCount(tf.tensor2d(targets), tf.softmax(tf.tensor2d(logits)));
  // Arg-max of the logits 0, 2, 1, 0 against targets 2, 1, 1, 3: only row 2 agrees.
  assert.equal(c.dataSync()[0], 1);
  c.dispose();
});

test('evaluation reports the same loss as training, including examples beyond 16 nats', async () => {
  await tf.setBackend('cpu');
  // A dense softmax layer with an identity kernel: its inputs are the logits above.
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [1, 1, 4] }), tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: 'identity' })] });
  const labels = Int32Array.from(targets.map((row) => row.indexOf(Math.max(...row))));
  const images = Float32Array.from(logits.flat());
  const evaluation = evaluateModel(model, { images, labels, shape: [4, 1, 1, 4], classNames: ['a', 'b', 'c', 'd'] }, 2);
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
  const training = crossEntropy(oneHot, tf.softmax(tf.tensor2d(logits)));
  const p = logits.map(softmax64);
  const want = -[...labels].reduce((s, l, i) => s + Math.log(p[i][l]), 0) / labels.length; // ~31 nats: rows 0 and 3 are 40 and 80
  assert.ok(Math.abs(evaluation.loss - want) < 1e-5 * want, `evaluation ${evaluation.loss} vs ${want}`);
  assert.ok(Math.abs(training.dataSync()[0] - want) < 1e-5 * want, `training ${training.dataSync()[0]} vs ${want}`);
  tf.dispose([oneHot, training]);
  model.dispose();
});
