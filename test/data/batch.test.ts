// makeBatch: the pixels it copies, one-hot targets and label smoothing, tensor bookkeeping.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '../../src/tf.js';
import { makeBatch, type ImageDataset } from '../../src/data/index.js';

// 4 images of 1x2x1 pixels: image i holds the levels [20 i, 20 i + 10]; labels over 3 classes.
const ds: ImageDataset = {
  images: Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70]),
  labels: Int32Array.from([2, 0, 1, 2]),
  shape: [4, 1, 2, 1],
  classNames: ['a', 'b', 'c'],
  source: 'memory',
};

describe('makeBatch', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('copies the images at the indices and one-hot encodes their labels', () => {
    const before = tf.memory().numTensors;
    const { xs, ys } = makeBatch(ds, [3, 1]);
    assert.deepEqual(xs.shape, [2, 1, 2, 1]);
    assert.deepEqual(ys.shape, [2, 3]);
    // Pixels are levels / 255 in float32, converted as the batch is made.
    assert.deepEqual(xs.dataSync(), Float32Array.from([60 / 255, 70 / 255, 20 / 255, 30 / 255]));
    assert.deepEqual(Array.from(ys.dataSync()), [0, 0, 1, 1, 0, 0]);
    tf.dispose([xs, ys]);
    assert.equal(tf.memory().numTensors, before);
  });

  it('label smoothing 0.3 over 3 classes: 0.8 for the label, 0.1 elsewhere (within 1e-7)', () => {
    const { xs, ys } = makeBatch(ds, Int32Array.from([2]), { labelSmoothing: 0.3 });
    const values = Array.from(ys.dataSync());
    [0.1, 0.8, 0.1].forEach((want, k) => assert.ok(Math.abs(values[k] - want) < 1e-7, `class ${k}: ${values[k]}`));
    assert.ok(Math.abs(values.reduce((a, b) => a + b) - 1) < 1e-6);
    tf.dispose([xs, ys]);
  });

  it('rejects smoothing outside [0, 1) and indices outside the dataset', () => {
    assert.throws(() => makeBatch(ds, [0], { labelSmoothing: 1 }), RangeError);
    assert.throws(() => makeBatch(ds, [4]), RangeError);
    assert.throws(() => makeBatch(ds, [-1]), RangeError);
  });
});
