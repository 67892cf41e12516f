// FLOP counts checked against hand computation (2 FLOPs per multiply-add).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { countFlops } from '../../src/inspect/flops.js';
import { buildModel } from '../../src/models/registry.js';

test('a conv + dense model: forward and training FLOPs by hand', async () => {
  await tf.setBackend('cpu');
  const input = tf.input({ shape: [5, 5, 2] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'valid' }).apply(input) as tf.SymbolicTensor;
  const relu = tf.layers.activation({ activation: 'relu' }).apply(conv) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(relu) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3 }).apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  // conv: 3x3 outputs x 4 channels x (3x3 kernel x 2 inputs) = 648 multiply-adds; dense: 36 x 3 = 108.
  const convFlops = 2 * 648, denseFlops = 2 * 108;
  const flops = countFlops(model);
  assert.equal(flops.forward, convFlops + denseFlops);
  // The conv sees only the image: no backward-data pass (2x); the dense layer after it: 3x.
  assert.equal(flops.training, 2 * convFlops + 3 * denseFlops);
  model.dispose();
});

test('ResNet-50 at 64x64: training = 3 x forward less the stem backward-data pass; ~0.6 GFLOP forward', async () => {
  await tf.setBackend('cpu');
  const model = buildModel('resnet50', { inputShape: [64, 64, 3], classes: 6 });
  const flops = countFlops(model);
  // Stem: 7x7x3 -> 64 on a 70x70 padded image, stride 2: 32x32 outputs.
  const stem = 2 * 32 * 32 * 64 * 7 * 7 * 3;
  // Training = 3 x forward except the stem's backward-data pass.
  assert.equal(flops.training, 3 * flops.forward - stem);
  // ~0.62 GFLOP forward per image (ResNet-50's ~7.7 GFLOP at 224x224 scales with the pixel count
  // (64/224)^2 = 0.082, less at these small sizes where 'valid' pooling drops border rows).
  assert.ok(flops.forward > 0.55e9 && flops.forward < 0.65e9, `${flops.forward}`);
  model.dispose();
});
