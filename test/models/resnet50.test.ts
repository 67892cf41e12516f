// The course ResNet-50 against ../shared/spec/resnet.md: layer count and classes, names, output shapes
// and parameter counts. Parameters are recomputed here from layer shapes by formula, not read from TF.js.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { resnet50 } from '../../src/models/resnet50.js';
import { buildModel, modelNames } from '../../src/models/registry.js';

await tf.setBackend('cpu');
const model = resnet50({ inputShape: [64, 64, 3], classes: 6 });
const layer = (name: string) => model.getLayer(name);
const shapeOf = (name: string) => layer(name).outputShape;

describe('resnet50 (course model)', () => {
  test('177 layers: 53 Conv2D, 53 BatchNormalization, 49 Activation, 16 Add, one each of the rest', () => {
    assert.equal(model.layers.length, 177);
    const counts: Record<string, number> = {};
    for (const l of model.layers) counts[l.getClassName()] = (counts[l.getClassName()] ?? 0) + 1;
    assert.deepEqual(counts, {
      InputLayer: 1, ZeroPadding2D: 1, Conv2D: 53, BatchNormalization: 53, Activation: 49,
      MaxPooling2D: 1, Add: 16, AveragePooling2D: 1, Flatten: 1, Dense: 1,
    });
  });

  test('output shapes at the spec checkpoints', () => {
    assert.deepEqual(shapeOf('zero_padding2d'), [null, 70, 70, 3]);
    assert.deepEqual(shapeOf('conv1'), [null, 32, 32, 64]);
    assert.deepEqual(shapeOf('max_pooling2d'), [null, 15, 15, 64]);
    assert.deepEqual(shapeOf('relu2c'), [null, 15, 15, 256]);
    assert.deepEqual(shapeOf('relu3d'), [null, 8, 8, 512]);
    assert.deepEqual(shapeOf('relu4f'), [null, 4, 4, 1024]);
    assert.deepEqual(shapeOf('relu5c'), [null, 2, 2, 2048]);
    assert.deepEqual(shapeOf('avg_pool'), [null, 1, 1, 2048]);
    assert.deepEqual(shapeOf('flatten'), [null, 2048]);
    assert.deepEqual(shapeOf('fc6'), [null, 6]);
  });

  test('convolution names and kernel sizes follow the Keras course naming', () => {
    const stages: [number, string[]][] = [[2, ['a', 'b', 'c']], [3, ['a', 'b', 'c', 'd']], [4, ['a', 'b', 'c', 'd', 'e', 'f']], [5, ['a', 'b', 'c']]];
    const expected = ['conv1'];
    for (const [stage, blocks] of stages)
      for (const block of blocks) {
        for (const branch of ['2a', '2b', '2c']) expected.push(`res${stage}${block}_branch${branch}`);
        if (block === 'a') expected.push(`res${stage}${block}_branch1`);
      }
    const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.name);
    assert.deepEqual([...convs].sort(), [...expected].sort());
    for (const name of convs) {
      const bn = name === 'conv1' ? 'bn_conv1' : name.replace(/^res/, 'bn');
      assert.equal(layer(bn).getClassName(), 'BatchNormalization');
      const kernel = (layer(name).getWeights()[0] as tf.Tensor).shape;
      const expectedSize = name === 'conv1' ? 7 : name.endsWith('2b') ? 3 : 1;
      assert.equal(kernel[0], expectedSize, name);
    }
  });

  test('23,600,006 parameters: 23,546,886 trainable, 53,120 not, recomputed layer by layer', () => {
    let trainable = 0;
    let nonTrainable = 0;
    for (const l of model.layers) {
      const cls = l.getClassName();
      const inChannels = (l.inboundNodes[0]?.inputShapes as number[][] | undefined)?.[0]?.at(-1) ?? 0;
      const out = l.outputShape as number[];
      if (cls === 'Conv2D') {
        const k = (l.getWeights()[0] as tf.Tensor).shape[0];
        trainable += k * k * inChannels * out[3] + out[3]; // kernel + bias
      } else if (cls === 'BatchNormalization') {
        trainable += 2 * out[3]; // gamma, beta
        nonTrainable += 2 * out[3]; // moving mean, moving variance
      } else if (cls === 'Dense') {
        trainable += inChannels * out[1] + out[1];
      }
    }
    assert.equal(trainable, 23_546_886);
    assert.equal(nonTrainable, 53_120);
    assert.equal(model.countParams(), 23_600_006);
    const tfTrainable = model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a! * b!, 1)!, 0);
    assert.equal(tfTrainable, trainable);
  });

  test('batch norm uses Keras defaults; kernels are Glorot-uniform seeded (two builds give equal weights)', () => {
    const config = layer('bn2a_branch2a').getConfig();
    assert.equal(config.epsilon, 1e-3);
    assert.equal(config.momentum, 0.99);
    const again = resnet50();
    const a = (layer('res3a_branch2b').getWeights()[0] as tf.Tensor).dataSync();
    const b = (again.getLayer('res3a_branch2b').getWeights()[0] as tf.Tensor).dataSync();
    assert.deepEqual(a, b);
    // Glorot uniform bound sqrt(6 / (fanIn + fanOut)) for a 3x3x128x128 kernel: 9*128 each way.
    const limit = Math.sqrt(6 / (2 * 9 * 128));
    assert.ok(a.every((v) => Math.abs(v) <= limit) && a.some((v) => Math.abs(v) > 0.9 * limit));
    again.dispose();
  });

  test('the registry builds it by name and rejects unknown names', () => {
    assert.ok(modelNames().includes('resnet50'));
    const m = buildModel('resnet50', { inputShape: [64, 64, 3], classes: 10 });
    assert.deepEqual(m.outputs[0].shape, [null, 10]);
    assert.equal(m.layers.at(-1)!.name, 'fc10');
    m.dispose();
    assert.throws(() => buildModel('resnet51', { inputShape: [64, 64, 3], classes: 6 }), /unknown model 'resnet51'/);
  });
});
