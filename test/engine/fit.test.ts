// Training works on every engine that loads here: a few fit epochs of a small network made of the
// course's blocks lower the loss, and the number of live tensors stays flat from epoch to epoch.
// The library is imported through its package entry point ('resnet-ts'), as a user imports it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends, convolutionalBlock, ENGINES, identityBlock, resnet50, tf, useBackend } from 'resnet-ts';
import { engineSkip } from '../support/native.js';

const engines = await availableBackends();
/** Per engine: false, or why it is skipped here (the native engine is required under RESNET_REQUIRE_NATIVE=1). */
const skips = new Map(await Promise.all(ENGINES.map(async (e) => [e, await engineSkip(e)] as const)));

/** conv block (s=2) → identity block → global pooling → softmax: the course's blocks at toy size. */
function tinyResNet(classes: number): ReturnType<typeof tf.model> {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = convolutionalBlock(input, 3, [4, 4, 8], { stage: 2, block: 'a', s: 2 });
  x = identityBlock(x, 3, [4, 4, 8], { stage: 2, block: 'b' });
  x = tf.layers.globalAveragePooling2d({}).apply(x) as typeof input;
  const output = tf.layers.dense({ units: classes, activation: 'softmax' }).apply(x) as typeof input;
  return tf.model({ inputs: input, outputs: output });
}

describe('training on every available engine', () => {
  test('the engines that load here include wasm and cpu', () => {
    assert.ok(engines.includes('wasm') && engines.includes('cpu'), engines.join(','));
  });

  for (const engine of ENGINES) {
    test(`${engine}: fit lowers the loss and leaks no tensors across epochs`, { skip: skips.get(engine) }, async () => {
      await useBackend(engine);
      const classes = 3;
      // 24 images whose class sets the brightness of one colour channel: learnable in a few epochs.
      const labels = Array.from({ length: 24 }, (_, i) => i % classes);
      const xs = tf.tidy(() => {
        const noise = tf.randomUniform([24, 8, 8, 3], 0, 0.2, 'float32', 7);
        const signal = tf.reshape(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), [24, 1, 1, 3]);
        return tf.add(noise, tf.mul(signal, 0.8));
      });
      const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32'));
      const model = tinyResNet(classes);
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      const tensorsAfterEpoch: number[] = [];
      const history = await model.fit(xs, ys, {
        epochs: 6,
        batchSize: 8,
        shuffle: false,
        verbose: 0,
        callbacks: { onEpochEnd: async () => void tensorsAfterEpoch.push(tf.memory().numTensors) },
      });
      const losses = history.history.loss as number[];
      assert.ok(losses.at(-1)! < 0.7 * losses[0], `${engine}: loss ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
      assert.equal(new Set(tensorsAfterEpoch.slice(1)).size, 1, `${engine}: live tensors per epoch ${tensorsAfterEpoch.join(',')}`);
      tf.dispose([xs, ys]);
      model.dispose();
    });
  }

  test('ResNet-50 from the package entry point takes a training step on wasm', async () => {
    await useBackend('wasm');
    const model = resnet50({ inputShape: [64, 64, 3], classes: 6 });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const xs = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 3);
    const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([1, 4], 'int32'), 6), 'float32'));
    const before = (model.getLayer('conv1').getWeights()[0] as tf.Tensor).dataSync().slice(0, 8);
    const loss = (await model.trainOnBatch(xs, ys)) as number;
    const after = (model.getLayer('conv1').getWeights()[0] as tf.Tensor).dataSync().slice(0, 8);
    assert.ok(Number.isFinite(loss) && loss > 0);
    assert.notDeepEqual(Array.from(after), Array.from(before)); // the first layer's weights were updated
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
