// recalibrateBatchNorm ("precise BN"): moving statistics become the average of per-batch statistics,
// computed here independently from the raw pixels, and nothing else changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { recalibrateBatchNorm } from '../../src/train/recalibrate.js';
import { shuffledIndices } from '../../src/data/index.js';
import type { ImageDataset } from '../../src/data/types.js';

await tf.setBackend('cpu');

test('moving mean/variance = average over batches of the batch mean/biased variance; momentum and other weights kept', async () => {
  const [n, h, w, c] = [8, 2, 2, 2];
  const levels = Uint8Array.from({ length: n * h * w * c }, (_, i) => Math.round(127.5 + 127.5 * Math.sin(i * 1.3)));
  const images = Float32Array.from(levels, (v) => v / 255); // what the model sees
  const data: ImageDataset = { images: levels, labels: new Int32Array(n), shape: [n, h, w, c], classNames: ['a', 'b'], source: 'test' };
  const input = tf.input({ shape: [h, w, c] });
  const bn = tf.layers.batchNormalization({ axis: 3, momentum: 0.99 });
  const output = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(bn.apply(input))) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  const gammaBefore = Array.from(bn.getWeights()[0].dataSync());
  const tensorsBefore = tf.memory().numTensors;

  const [batchSize, seed] = [4, 5];
  await recalibrateBatchNorm(model, data, n, batchSize, seed);

  // Independent computation: per batch, per channel mean and biased variance over (N, H, W).
  const order = shuffledIndices(n, seed);
  const expectedMean = [0, 0];
  const expectedVar = [0, 0];
  const batches = n / batchSize;
  for (let b = 0; b < batches; b++) {
    for (let ch = 0; ch < c; ch++) {
      const values: number[] = [];
      for (const i of order.subarray(b * batchSize, (b + 1) * batchSize)) for (let p = 0; p < h * w; p++) values.push(images[(i * h * w + p) * c + ch]);
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      expectedMean[ch] += mean / batches;
      expectedVar[ch] += values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length / batches;
    }
  }
  const [, , movingMean, movingVar] = bn.getWeights().map((t) => Array.from(t.dataSync()));
  for (let ch = 0; ch < c; ch++) {
    assert.ok(Math.abs(movingMean[ch] - expectedMean[ch]) < 1e-5, `mean ${movingMean[ch]} vs ${expectedMean[ch]}`);
    assert.ok(Math.abs(movingVar[ch] - expectedVar[ch]) < 1e-4 * Math.max(1, expectedVar[ch]), `var ${movingVar[ch]} vs ${expectedVar[ch]}`);
  }
  // The running averages before (0 and 1) are gone entirely: not a blend.
  assert.ok(Math.abs(movingVar[0] - 1) > 0.1);
  assert.equal((bn as unknown as { momentum: number }).momentum, 0.99);
  assert.deepEqual(Array.from(bn.getWeights()[0].dataSync()), gammaBefore);
  assert.equal(tf.memory().numTensors, tensorsBefore);
  model.dispose();
});
