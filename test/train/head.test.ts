// fitModelToData (head.ts): a new seeded head for other classes (the course's fcN naming kept), the
// same layers on another image size, and one clear error where a layer's weights depend on the size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/errors.js';
import { fitModelToData } from '../../src/train/head.js';

await tf.setBackend('cpu');

/** conv -> (global pooling | flatten) -> Dense 'fc3': a course-style head name. */
function small(pooling: 'global' | 'flatten'): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'input' });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input);
  const pooled = (pooling === 'global' ? tf.layers.globalAveragePooling2d({ name: 'pool' }) : tf.layers.flatten({ name: 'flat' })).apply(conv);
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'fc3' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const init = (model: tf.LayersModel) => ({ model, classNames: ['a', 'b', 'c'], inputShape: [8, 8, 3] as [number, number, number] });
const values = (t: tf.Tensor) => Array.from(t.dataSync());

test('other classes: a new head, seeded (same seed, same kernel), the backbone copied', async () => {
  const make = async (seed: number) => {
    const source = small('global');
    const conv = values(source.getLayer('conv').getWeights()[0]);
    const { model, notes } = await fitModelToData(init(source), { classNames: ['x', 'y'], inputShape: [8, 8, 3] }, seed);
    return { model, notes, conv };
  };
  const [a, b, c] = [await make(1), await make(1), await make(2)];
  assert.deepEqual(a.model.layers.map((l) => l.name), ['input', 'conv', 'pool', 'fc2']);
  assert.deepEqual(a.model.outputs[0].shape, [null, 2]);
  assert.deepEqual(a.notes, ["new head 'fc2' for the data's 2 classes (x, y), Glorot-uniform seed 1, replaces 'fc3' (3 classes: a, b, c)"]);
  assert.deepEqual(values(a.model.getLayer('conv').getWeights()[0]), a.conv);
  assert.deepEqual(values(a.model.getLayer('fc2').getWeights()[0]), values(b.model.getLayer('fc2').getWeights()[0]));
  assert.notDeepEqual(values(a.model.getLayer('fc2').getWeights()[0]), values(c.model.getLayer('fc2').getWeights()[0]));
  assert.deepEqual(values(a.model.getLayer('fc2').getWeights()[1]), [0, 0]);
  for (const r of [a, b, c]) r.model.dispose();
});

test('same classes and size: the very same model; another size: the same weights on the new input', async () => {
  const source = small('global');
  const same = await fitModelToData(init(source), { classNames: ['a', 'b', 'c'], inputShape: [8, 8, 3] }, 1);
  assert.equal(same.model, source);
  assert.deepEqual(same.notes, []);
  const before = source.getWeights().map(values);
  const x = tf.randomUniform([2, 12, 12, 3], 0, 1, 'float32', 5);
  // The reference: the old layers applied eagerly to 12x12 images (global pooling makes them size-independent).
  const expected = values(tf.tidy(() => source.getLayer('fc3').apply(source.getLayer('pool').apply(source.getLayer('conv').apply(x))) as tf.Tensor));
  const bigger = await fitModelToData(init(source), { classNames: ['a', 'b', 'c'], inputShape: [12, 12, 3] }, 1);
  assert.deepEqual(bigger.model.inputs[0].shape, [null, 12, 12, 3]);
  assert.deepEqual(bigger.model.getWeights().map(values), before);
  const got = values(bigger.model.predict(x) as tf.Tensor);
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-6, `${v} vs ${expected[i]}`));
  bigger.model.dispose();
  x.dispose();
});

test('a size the weights cannot take, or other channels: one UserError, the model disposed', async () => {
  const source = small('flatten');
  await assert.rejects(fitModelToData(init(source), { classNames: ['a', 'b', 'c'], inputShape: [12, 12, 3] }, 1),
    (e: Error) => e instanceof UserError && /layer 'fc3' \(256x3\) do not fit 12x12 images \(576x3\); train at the model's own size with --image-size 8/.test(e.message));
  assert.throws(() => source.getLayer('conv').getWeights()[0].dataSync(), /disposed/);
  await assert.rejects(fitModelToData(init(small('global')), { classNames: ['a'], inputShape: [8, 8, 1] }, 1), /the model takes 3-channel images, the data has 1 channels/);
});
