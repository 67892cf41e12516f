// Batch norm folded into a convolution's weights: exact arithmetic on a case worked by hand, and the
// folded convolution against the layers it replaces on the cpu backend (the reference engine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { optimizedGraph } from '../../src/infer/compile.js';
import { foldedConvWeights } from '../../src/infer/weights.js';
import type { Operation } from '../../src/infer/graph.js';
import { images, randomizeBatchNorms, relativeDifference } from './helpers.js';

await tf.setBackend('cpu');

function convBn(filters: number, kernel: number, useBias: boolean, epsilon: number): tf.LayersModel {
  const input = tf.input({ shape: [5, 5, 2] });
  const conv = tf.layers.conv2d({ filters, kernelSize: kernel, padding: 'same', useBias }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.batchNormalization({ epsilon }).apply(conv) as tf.SymbolicTensor });
}

const foldedConv = (model: tf.LayersModel) =>
  optimizedGraph(model).graph.operations.find((o): o is Operation & { op: 'conv' } => o.op === 'conv')!;

test('folding by hand: k = gamma / sqrt(variance + eps), w * k, (b - mean) k + beta', () => {
  const model = convBn(1, 1, true, 0.25);
  model.layers[1].setWeights([tf.tensor4d([2, -4], [1, 1, 2, 1]), tf.tensor1d([1])]);
  model.layers[2].setWeights([tf.tensor1d([3]), tf.tensor1d([0.5]), tf.tensor1d([0.25]), tf.tensor1d([3.75])]);
  const { weights, bias } = foldedConvWeights(foldedConv(model).conv); // k = 3 / sqrt(4) = 1.5
  assert.deepEqual(Array.from(weights), [3, -6]);
  assert.deepEqual(Array.from(bias!), [(1 - 0.25) * 1.5 + 0.5]);
  model.dispose();
});

test('folded conv + bias equals conv -> batch norm on the cpu backend (float32, 1e-6 of the scale)', () => {
  for (const [filters, kernel, useBias, epsilon] of [[3, 3, true, 1e-3], [4, 1, false, 1e-5]] as const) {
    const model = convBn(filters, kernel, useBias, epsilon);
    randomizeBatchNorms(model, 3);
    const x = images(2, [5, 5, 2]);
    const expected = (model.predict(x) as tf.Tensor).dataSync();
    const { weights, bias } = foldedConvWeights(foldedConv(model).conv);
    const actual = tf.tidy(() => {
      const w = tf.tensor4d(weights, [kernel, kernel, 2, filters]);
      return tf.add(tf.conv2d(x as tf.Tensor4D, w, 1, 'same'), tf.tensor1d(bias!)).dataSync();
    });
    const difference = relativeDifference(actual, expected);
    assert.ok(difference <= 1e-6, `${filters} filters ${kernel}x${kernel}: ${difference}`);
    x.dispose();
    model.dispose();
  }
});
