// keras.applications' ResNets rebuilt on the family builder: parameter counts against Keras's published
// table (keras.io/api/applications), where each variant puts its stride and its biases, and the
// registry names. (That every weighted layer's name and shape equals Keras's is checked against real
// Keras by test/interop/keras-roundtrip.test.ts, which loads Keras's own files.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { KERAS_APPLICATIONS, buildKerasApplication } from '../../src/models/keras-applications.js';
import { modelNames } from '../../src/models/registry.js';

await tf.setBackend('cpu');
const zeros = () => tf.initializers.zeros();

function withModel<T>(name: string, fn: (m: tf.LayersModel) => T, classes = 1000): T {
  const model = buildKerasApplication(name, { inputShape: [64, 64, 3], classes, kernelInitializer: zeros });
  try {
    return fn(model);
  } finally {
    model.dispose();
  }
}

describe('keras.applications ResNets', () => {
  // keras.io's table "Available models", total parameters at 1000 classes.
  const published: [string, number][] = [
    ['keras-resnet50', 25_636_712], ['keras-resnet101', 44_707_176], ['keras-resnet152', 60_419_944],
    ['keras-resnet50v2', 25_613_800], ['keras-resnet101v2', 44_675_560], ['keras-resnet152v2', 60_380_648],
  ];
  for (const [name, expected] of published) {
    test(`${name}: ${expected} parameters at 1000 classes (Keras's table)`, () => withModel(name, (m) => assert.equal(m.countParams(), expected)));
  }

  test('v1: stride 2 on the first 1x1 of stages 3-5 (and their projection), 3x3 unstrided; every conv has a bias; BN epsilon 1.001e-5', () => {
    withModel('keras-resnet50', (m) => {
      const conv = (name: string) => m.getLayer(name).getConfig();
      assert.deepEqual(conv('conv3_block1_1_conv').strides, [2, 2]);
      assert.deepEqual(conv('conv3_block1_0_conv').strides, [2, 2]);
      assert.deepEqual(conv('conv3_block1_2_conv').strides, [1, 1]);
      assert.deepEqual(conv('conv2_block1_1_conv').strides, [1, 1]);
      assert.deepEqual(m.getLayer('conv3_block1_out').outputShape, [null, 8, 8, 512]);
      assert.deepEqual(m.getLayer('conv5_block3_out').outputShape, [null, 2, 2, 2048]);
      const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D');
      assert.equal(convs.length, 53);
      assert.ok(convs.every((l) => l.getConfig().useBias === true));
      const bn = m.getLayer('conv1_bn').getConfig();
      assert.equal(bn.epsilon, 1.001e-5);
      assert.equal(bn.momentum, 0.99);
    });
  });

  test('v2: stride 2 on the 3x3 of the last block of stages 2-4, a 1x1 max-pool shortcut there; biases only where no BN follows', () => {
    withModel('keras-resnet50v2', (m) => {
      assert.deepEqual(m.getLayer('conv2_block3_2_conv').getConfig().strides, [2, 2]);
      assert.deepEqual(m.getLayer('conv2_block1_2_conv').getConfig().strides, [1, 1]);
      assert.deepEqual(m.getLayer('conv5_block3_2_conv').getConfig().strides, [1, 1]);
      assert.equal(m.getLayer('conv2_block3_0_pool').getClassName(), 'MaxPooling2D');
      assert.deepEqual(m.getLayer('conv2_block3_add').outputShape, [null, 8, 8, 256]);
      assert.deepEqual(m.getLayer('post_relu').outputShape, [null, 2, 2, 2048]);
      const biased = m.layers.filter((l) => l.getClassName() === 'Conv2D' && l.getConfig().useBias).map((l) => l.name);
      // conv1, the 4 projections and the 16 blocks' last 1x1 convolutions.
      assert.equal(biased.length, 1 + 4 + 16);
      assert.ok(biased.every((n) => n === 'conv1_conv' || n.endsWith('_0_conv') || n.endsWith('_3_conv')), biased.join(' '));
    });
  });

  test('all six are registry names', () => {
    for (const name of Object.keys(KERAS_APPLICATIONS)) assert.ok(modelNames().includes(name), name);
  });
});
