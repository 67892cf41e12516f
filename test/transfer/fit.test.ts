// Fine-tuning on cached features (src/transfer/): the trained part and the saved model compute the
// same thing; hundreds of photos keep tf.memory() flat (features are computed once and kept outside
// the engine, every step frees its tensors); the loss falls; stop stops; the saved folder loads back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel } from '../../src/models/registry.js';
import { buildClassifier } from '../../src/transfer/classifier.js';
import { extractFeatures, FeatureStore } from '../../src/transfer/features.js';
import { fitClassifier } from '../../src/transfer/fit.js';
import { modelArtifacts, modelFiles, modelFromArtifacts } from '../../src/train/model-folder.js';
import { mulberry32 } from '../../src/data/random.js';

const SIZE = 16;
const CLASSES = ['red', 'green', 'blue'];

/** `count` photos of class `label`: that colour channel bright, the others dim noise. */
function photos(label: number, count: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const out = new Float32Array(count * SIZE * SIZE * 3);
  for (let p = 0; p < count * SIZE * SIZE; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = c === label ? 0.6 + 0.4 * random() : 0.3 * random();
  return out;
}

function base(): tf.LayersModel {
  return buildModel('tiny-resnet', { inputShape: [SIZE, SIZE, 3], classes: 5 });
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

test('the trained part on cached features computes what the whole new model computes, in both modes', async () => {
  await tf.setBackend('cpu');
  for (const lastStage of [false, true]) {
    const model = base();
    const c = buildClassifier(model, 3, lastStage);
    const pixels = photos(0, 4, 1);
    const x = tf.tensor4d(pixels, [4, SIZE, SIZE, 3]);
    const features = extractFeatures(c.backbone, pixels, 4);
    const viaTop = c.top.predict(tf.tensor4d(features, [4, ...c.featureShape])) as tf.Tensor;
    const viaFull = c.full.predict(x) as tf.Tensor;
    assert.ok(maxDiff(viaTop, viaFull) < 1e-6, `lastStage=${lastStage}`);
    assert.deepEqual(viaFull.shape, [4, 3]);
    const trained = c.top.trainableWeights.map((w) => w.originalName);
    if (lastStage) assert.ok(trained.some((n) => n.startsWith('block_conv_b')), 'the last stage trains');
    else assert.deepEqual(trained, ['fc/kernel', 'fc/bias'], 'only the new head trains');
    tf.dispose([x, viaTop, viaFull]);
    model.dispose();
  }
});

test('hundreds of photos: features once, then training, leave tf.memory() flat; the loss falls; the model saves and loads', async () => {
  await tf.setBackend('cpu');
  const model = base();
  const c = buildClassifier(model, 3);
  const store = new FeatureStore(c.featureShape);
  const baseline = tf.memory();
  for (let label = 0; label < 3; label++) {
    for (let batch = 0; batch < 4; batch++) store.add(label, extractFeatures(c.backbone, photos(label, 25, 10 * label + batch), 25));
    assert.equal(tf.memory().numTensors, baseline.numTensors, 'extracting features keeps no tensor');
  }
  assert.equal(store.size, 300);
  assert.equal(store.count(1), 100);
  const data = store.dataset(CLASSES);
  const losses: number[] = [];
  const after: number[] = [];
  for (let round = 0; round < 2; round++) {
    const result = await fitClassifier(c.top, data, { epochs: 6, batchSize: 32, lr: 5e-2, holdout: 0.2, seed: round });
    losses.push(...result.epochs.map((e) => e.loss));
    assert.equal(result.holdoutCount, 60);
    assert.equal(result.trainCount, 240);
    after.push(tf.memory().numTensors);
    assert.equal(tf.memory().numBytes, baseline.numBytes, `round ${round}: tf.memory().numBytes back to where it started`);
    if (round === 1) assert.ok(result.holdout!.accuracy >= 0.9, `held-out accuracy ${result.holdout!.accuracy}`);
  }
  assert.deepEqual(after, [baseline.numTensors, baseline.numTensors], 'tf.memory().numTensors flat across fits');
  assert.ok(losses[losses.length - 1] < 0.7 * losses[0], `loss falls: ${losses.map((l) => l.toFixed(3)).join(' ')}`);

  // Save as `resnet train` would, load back through the same checks as the CLI: same predictions.
  const files = await modelFiles(c.full, { model: 'tiny-resnet', classNames: CLASSES, inputShape: [SIZE, SIZE, 3], epoch: 12 });
  const json = JSON.parse(files['model.json'] as string);
  assert.deepEqual(json.userDefinedMetadata, { model: 'tiny-resnet', classNames: CLASSES, inputShape: [SIZE, SIZE, 3], epoch: 12 });
  const { artifacts } = await modelArtifacts(json, 'model.json', async () => files['weights.bin'] as Uint8Array);
  const loaded = await modelFromArtifacts(artifacts, 'model.json');
  const x = tf.tensor4d(photos(2, 3, 99), [3, SIZE, SIZE, 3]);
  const [p, q] = [c.full.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
  assert.ok(maxDiff(p, q) < 1e-6);
  assert.deepEqual(Array.from(tf.argMax(q, 1).dataSync()), [2, 2, 2]);
  tf.dispose([x, p, q]);
  loaded.dispose();
  model.dispose();
});

test('stop takes effect after the current step; a class can be removed', async () => {
  await tf.setBackend('cpu');
  const model = base();
  const c = buildClassifier(model, 3);
  const store = new FeatureStore(c.featureShape);
  for (let label = 0; label < 3; label++) store.add(label, extractFeatures(c.backbone, photos(label, 8, label), 8));
  let steps = 0;
  const result = await fitClassifier(c.top, store.dataset(CLASSES), { epochs: 50, batchSize: 4, lr: 1e-3, holdout: 0, seed: 0 }, {
    onStep: () => void steps++,
    shouldStop: () => steps >= 3,
  });
  assert.equal(result.stopped, true);
  assert.equal(steps, 3);
  assert.equal(result.holdout, null);
  store.removeClass(0);
  assert.deepEqual([store.count(0), store.count(1), store.size], [8, 8, 16]);
  model.dispose();
});
