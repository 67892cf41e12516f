// Frozen layers (freeze.ts), on the cpu engine and the native engine's own batch-norm path: training
// steps with only the head trainable leave every other weight and every batch-norm moving statistic
// bit-identical, frozen batch norms compute their inference output inside a training step, and
// precise-BN recalibration leaves frozen layers alone. The same steps without freezing do change the
// statistics (so the checks can fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { buildFamilyModel } from '../../src/models/resnet.js';
import { isBatchNorm, setTrainability } from '../../src/train/freeze.js';
import { headLayer } from '../../src/models/cut.js';
import { trainStep } from '../../src/train/loop.js';
import { makeOptimizer } from '../../src/train/optimizer.js';
import { recalibrateBatchNorm } from '../../src/train/recalibrate.js';
import type { ImageDataset } from '../../src/data/types.js';
import { randomValues, skip as nativeSkip } from '../engine/native/helpers.js';

const SHAPE: [number, number, number] = [8, 8, 3];
const N = 8;

function snapshot(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync())]));
}

function batch(seed: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const xs = tf.tensor4d(randomValues(N * 8 * 8 * 3, seed).map((v) => 0.5 + 0.5 * v), [N, ...SHAPE]);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: N }, (_, i) => i % 3), 'int32'), 3), 'float32')) as tf.Tensor2D;
  return { xs, ys };
}

/** Names of the weights that differ (any bit) between two snapshots. */
function changed(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  return [...a.keys()].filter((k) => {
    const x = a.get(k)!, y = b.get(k)!;
    return x.length !== y.length || x.some((v, i) => !Object.is(v, y[i]));
  });
}

function steps(model: tf.LayersModel, count: number): void {
  const optimizer = makeOptimizer('adam', 0.01, 0, 0.9);
  const decayed = model.trainableWeights.map((w) => /kernel$/.test(w.originalName));
  for (let s = 0; s < count; s++) {
    const { xs, ys } = batch(s + 1);
    const { loss, correct } = trainStep(model, optimizer, xs, ys, decayed);
    tf.dispose([xs, ys, loss, correct]);
  }
  optimizer.dispose();
}

for (const engine of ['cpu', 'native'] as const) {
  const skip = engine === 'native' ? nativeSkip : false;

  test(`${engine}: head-only steps leave the backbone's weights and batch-norm statistics bit-identical`, { skip }, async () => {
    await tf.setBackend(engine);
    const model = buildFamilyModel('resnet8', { inputShape: SHAPE, classes: 3 });
    setTrainability(model, 'head');
    assert.deepEqual(model.trainableWeights.map((w) => w.originalName), ['predictions/kernel', 'predictions/bias']);
    const before = snapshot(model);
    steps(model, 2);
    const tensors = tf.memory().numTensors; // (after the first calls' one-time allocations)
    steps(model, 2);
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(changed(before, snapshot(model)), ['predictions/kernel', 'predictions/bias']);

    // The reference: the same steps with everything trainable move the moving statistics too.
    setTrainability(model, 'all');
    const thawed = snapshot(model);
    steps(model, 1);
    const moved = changed(thawed, snapshot(model));
    assert.ok(moved.includes('conv1_bn/moving_mean') && moved.includes('conv1_bn/moving_variance'), moved.join(', '));
    model.dispose();
  });

  test(`${engine}: a frozen batch norm computes its inference output inside a training call`, { skip }, async () => {
    await tf.setBackend(engine);
    const model = buildFamilyModel('resnet8', { inputShape: SHAPE, classes: 3 });
    // Moving statistics away from (0, 1), so that inference and batch normalization differ.
    for (const layer of model.layers.filter(isBatchNorm)) {
      const [gamma, beta, mean, variance] = layer.getWeights();
      layer.setWeights([gamma, beta, tf.fill(mean.shape, 0.3), tf.fill(variance.shape, 2.5)]);
    }
    const { xs, ys } = batch(7);
    const training = model.apply(xs, { training: true }) as tf.Tensor; // (updates the moving statistics)
    const inference = model.predict(xs) as tf.Tensor;
    assert.ok(tf.max(tf.abs(tf.sub(inference, training))).dataSync()[0] > 1e-3, 'training and inference differ while trainable');
    setTrainability(model, 'head');
    const frozen = model.apply(xs, { training: true }) as tf.Tensor;
    // Same kernels on the same values: equal to float32 rounding (tolerance 1e-6 absolute on probabilities).
    assert.ok(tf.max(tf.abs(tf.sub(inference, frozen))).dataSync()[0] <= 1e-6);
    tf.dispose([xs, ys, inference, training, frozen]);
    model.dispose();
  });
}

test('recalibration skips frozen batch norms and recomputes the others', async () => {
  await tf.setBackend('cpu');
  const model = buildFamilyModel('resnet8', { inputShape: SHAPE, classes: 3 });
  const images = Uint8Array.from(randomValues(N * 8 * 8 * 3, 3), (v) => Math.round(255 * (0.5 + 0.5 * v)));
  const data: ImageDataset = { images, labels: new Int32Array(N), shape: [N, ...SHAPE], classNames: ['a', 'b', 'c'], source: 'test' };
  setTrainability(model, 'all-but-batch-norm');
  const before = snapshot(model);
  await recalibrateBatchNorm(model, data, N, 4, 1);
  assert.deepEqual(changed(before, snapshot(model)), []);
  setTrainability(model, 'all');
  await recalibrateBatchNorm(model, data, N, 4, 1);
  const moved = changed(before, snapshot(model));
  const statistics = model.layers.filter(isBatchNorm).flatMap((l) => [`${l.name}/moving_mean`, `${l.name}/moving_variance`]);
  assert.deepEqual(moved.sort(), statistics.sort());
  model.dispose();
});

test('headLayer: the final Dense layer, or a clear error', async () => {
  await tf.setBackend('cpu');
  const model = buildFamilyModel('resnet8', { inputShape: SHAPE, classes: 3 });
  assert.equal(headLayer(model).name, 'predictions');
  model.dispose();
  const input = tf.input({ shape: [4] });
  const headless = tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'softmax' }).apply(input) as tf.SymbolicTensor, name: 'headless' });
  assert.throws(() => headLayer(headless), /does not end in a Dense classifier/);
});
