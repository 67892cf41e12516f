import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { confusionMatrix, formatConfusion, metricsFromConfusion } from '../../src/train/metrics.js';
import { correctCount, crossEntropy } from '../../src/train/loss.js';
import { alignClasses, evaluateModel, evaluateSource, predictProbabilities } from '../../src/train/evaluate.js';
import type { ImageDataset } from '../../src/data/types.js';
import { memorySource } from '../../src/data/source.js';

describe('metrics', () => {
  test('confusion matrix, precision and recall of a worked example', () => {
    const m = confusionMatrix([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1], 2);
    assert.deepEqual(m, [[2, 1], [0, 3]]);
    const r = metricsFromConfusion(m);
    assert.equal(r.accuracy, 5 / 6);
    assert.deepEqual(r.precision, [1, 0.75]);
    assert.deepEqual(r.recall, [2 / 3, 1]);
    const table = formatConfusion(m, ['cat', 'dog'], r).split('\n');
    assert.match(table[1], /^cat\s+2\s+1\s+0\.667$/);
    assert.match(table[3], /^precision\s+1\.000\s+0\.750/);
  });

  test('a class never predicted has precision 0, not NaN', () => {
    assert.deepEqual(metricsFromConfusion([[0, 2], [0, 2]]).precision, [0, 0.5]);
  });
});

describe('loss', () => {
  test('cross-entropy and correct count match the hand values (tolerance 1e-6)', async () => {
    await tf.setBackend('cpu');
    const ys = tf.tensor2d([[0, 1], [1, 0]]);
    const probs = tf.tensor2d([[0.25, 0.75], [0.4, 0.6]]);
    const loss = crossEntropy(ys, probs);
    assert.ok(Math.abs(loss.dataSync()[0] - (-Math.log(0.75) - Math.log(0.4)) / 2) < 1e-6);
    assert.equal(correctCount(ys, probs).dataSync()[0], 1);
    tf.dispose([ys, probs, loss]);
  });
});

describe('evaluateModel', () => {
  test('a zero-weight dense model predicts uniform probabilities: loss ln(3), every image -> class 0', async () => {
    await tf.setBackend('cpu');
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [2, 2, 1] }), tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: 'zeros' })],
    });
    const ds: ImageDataset = {
      images: Uint8Array.from({ length: 5 * 4 }, (_, i) => i * 12),
      labels: Int32Array.from([0, 1, 2, 2, 0]),
      shape: [5, 2, 2, 1],
      classNames: ['a', 'b', 'c'],
      source: 'memory',
    };
    const before = tf.memory().numTensors;
    const r = evaluateModel(model, ds, 2); // batches of 2, 2 and 1
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Math.abs(r.loss - Math.log(3)) < 1e-6);
    assert.deepEqual(Array.from(r.predicted), [0, 0, 0, 0, 0]);
    assert.deepEqual(r.confusion, [[2, 0, 0], [1, 0, 0], [2, 0, 0]]);
    assert.equal(r.accuracy, 0.4);
    model.dispose();
  });

  test('tta flip-translate: half the flip average, a quarter each for the two diagonal one-pixel shifts (reflected by hand) and their mirrors, tolerance 1e-6', async () => {
    await tf.setBackend('cpu');
    const [n, h, w, c] = [3, 4, 3, 2];
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [h, w, c] }), tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 5 }) })] });
    const images = Float32Array.from({ length: n * h * w * c }, (_, i) => ((i * 29) % 13) / 12);
    const at = (im: Float32Array, i: number, y: number, x: number, k: number) => im[((i * h + y) * w + x) * c + k];
    const reflect = (v: number, size: number) => (v < 0 ? -v : v >= size ? 2 * size - 2 - v : v);
    const view = (d: number, mirror: boolean) => {
      const out = new Float32Array(images.length);
      for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
        const sx = reflect(x - d, w);
        out[((i * h + y) * w + (mirror ? w - 1 - x : x)) * c + k] = at(images, i, reflect(y - d, h), sx, k);
      }
      return out;
    };
    const p = (d: number, mirror: boolean) => predictProbabilities(model, view(d, mirror), [n, h, w, c], 2);
    const [p0, p0m, pa, pam, pb, pbm] = [p(0, false), p(0, true), p(1, false), p(1, true), p(-1, false), p(-1, true)];
    const tta = predictProbabilities(model, images, [n, h, w, c], 2, {}, 'flip-translate');
    const expected = p0.map((v, i) => 0.25 * (v + p0m[i]) + 0.125 * (pa[i] + pam[i] + pb[i] + pbm[i]));
    assert.ok(tta.every((v, i) => Math.abs(v - expected[i]) < 1e-6));
    const flip = predictProbabilities(model, images, [n, h, w, c], 2, {}, 'flip');
    assert.ok(tta.some((v, i) => Math.abs(v - flip[i]) > 1e-3), 'the shifted views change the predictions');
    model.dispose();
  });

  test('tta flip: the mean of the probabilities of each image and of its mirror image (mirrored by hand), tolerance 1e-6', async () => {
    await tf.setBackend('cpu');
    const [n, h, w, c] = [5, 2, 3, 2];
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [h, w, c] }), tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) })] });
    const images = Float32Array.from({ length: n * h * w * c }, (_, i) => ((i * 37) % 11) / 10);
    const mirrored = new Float32Array(images.length);
    for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
      mirrored[((i * h + y) * w + (w - 1 - x)) * c + k] = images[((i * h + y) * w + x) * c + k];
    }
    const plain = predictProbabilities(model, images, [n, h, w, c], 2);
    const flipped = predictProbabilities(model, mirrored, [n, h, w, c], 2);
    const tta = predictProbabilities(model, images, [n, h, w, c], 2, {}, 'flip');
    assert.ok(tta.every((p, i) => Math.abs(p - (plain[i] + flipped[i]) / 2) < 1e-6));
    assert.ok(tta.some((p, i) => Math.abs(p - plain[i]) > 1e-3), 'the mirror images change the predictions');
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const r = evaluateModel(model, { images, labels, shape: [n, h, w, c], classNames: ['a', 'b', 'c'] }, 2, {}, 'flip');
    const loss = -[...labels].reduce((sum, l, i) => sum + Math.log(tta[i * 3 + l]), 0) / n;
    assert.ok(Math.abs(r.loss - loss) < 1e-6);
    // The training loop's path (a batch source of 8-bit levels) gives the same as the array path, tolerance 1e-6.
    const levels: ImageDataset = { images: Uint8Array.from(images, (v) => Math.round(v * 255)), labels, shape: [n, h, w, c], classNames: ['a', 'b', 'c'], source: 'memory' };
    const viaSource = await evaluateSource(model, memorySource(levels), 2, {}, 'flip');
    const viaArray = evaluateModel(model, levels, 2, {}, 'flip');
    assert.ok(Math.abs(viaSource.loss - viaArray.loss) < 1e-6);
    assert.deepEqual(viaSource.predicted, viaArray.predicted);
    model.dispose();
  });

  test('alignClasses maps data classes onto the model order by name, and rejects unknown ones', () => {
    const ds: ImageDataset = { images: new Uint8Array(2), labels: Int32Array.from([0, 1]), shape: [2, 1, 1, 1], classNames: ['c', 'a'], source: 'x' };
    assert.deepEqual(Array.from(alignClasses(ds, ['a', 'b', 'c']).labels), [2, 0]);
    assert.throws(() => alignClasses(ds, ['a', 'b']), /unknown: c/);
  });
});
