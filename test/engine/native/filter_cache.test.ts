// The forward convolution keeps each filter in oneDNN's blocked layout between calls (conv.cc,
// blockedFilters, a FilterCopies of conv.h): repeated predictions must reuse it, and any change of the weights (the fused
// optimizer's in-place update, an assign) must be seen at the next call; disposing frees it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { loadAddon } from '../../../src/engine/native/addon.js';
import { setNativePrecision } from '../../../src/engine/native/backend.js';
import { assertClose, randomValues, skip, skipBf16, type Tolerance } from './helpers.js';

/**
 * Same products summed in another order by oneDNN and the cpu kernel: 288 products of values in
 * [-1, 1) and Glorot weights (outputs of order 1): 1e-5 of each, 1e-5 for outputs near zero.
 */
const CONV_TOLERANCE: Tolerance = { abs: 1e-5, rel: 1e-5 };

/** Blocked filter copies the addon keeps (releasing key 0, which is never used, only counts). */
const keptFilters = () => loadAddon()!.releaseFilter(0);

/** The convolution of x with the kernel's current values, computed on cpu from a copy. */
async function expectedOnCpu(x: tf.Tensor4D, kernel: tf.Tensor, bias: tf.Tensor): Promise<Float32Array> {
  const [xv, kv, bv] = [x.dataSync(), kernel.dataSync(), bias.dataSync()].map((v) => Float32Array.from(v));
  await tf.setBackend('cpu');
  const y = tf.tidy(() => tf.add(tf.conv2d(tf.tensor4d(xv, x.shape), tf.tensor4d(kv, kernel.shape as [number, number, number, number]), 1, 'same'), tf.tensor1d(bv)));
  const values = Float32Array.from(y.dataSync());
  y.dispose();
  await tf.setBackend('native');
  return values;
}

test('filter layouts: reused while unchanged, refreshed after an optimizer step or an assign, freed on dispose', { skip }, async () => {
  await tf.setBackend('native');
  const kept = keptFilters();
  const model = tf.sequential({
    layers: [tf.layers.conv2d({ inputShape: [6, 6, 32], filters: 32, kernelSize: 3, padding: 'same',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 2 }) })],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const x = tf.tensor4d(randomValues(2 * 6 * 6 * 32, 3), [2, 6, 6, 32]);
  const [kernel, bias] = model.getWeights(); // the variables themselves: read at each use
  const predict = () => tf.tidy(() => Float32Array.from((model.predict(x) as tf.Tensor).dataSync()));

  const first = predict();
  assert.equal(keptFilters(), kept + 1, 'one blocked copy kept for the layer\'s kernel');
  assertClose(first, await expectedOnCpu(x, kernel, bias), CONV_TOLERANCE, 'first prediction');
  assert.deepEqual(predict(), first, 'the second prediction (cached layout) is identical');

  // A fused Adam step updates the kernel in place (same tensor): the next prediction must see it.
  await model.trainOnBatch(x, tf.zeros([2, 6, 6, 32]));
  const afterStep = predict();
  assert.throws(() => assertClose(afterStep, first, CONV_TOLERANCE, 'changed'), 'the step changed the output');
  assertClose(afterStep, await expectedOnCpu(x, kernel, bias), CONV_TOLERANCE, 'after an optimizer step');

  // An assign gives the variable new data: the next prediction must use it.
  const doubled = tf.mul(kernel, 2);
  (model.layers[0] as unknown as { kernel: { write(t: tf.Tensor): void } }).kernel.write(doubled);
  assertClose(predict(), await expectedOnCpu(x, doubled, bias), CONV_TOLERANCE, 'after an assign');

  model.dispose();
  tf.dispose([x, doubled]);
  assert.equal(keptFilters(), kept, 'disposing the model frees its blocked copies');
});

test('bfloat16 filter copies of the matmul convolutions: reused while unchanged, refreshed after a step or an assign, freed on dispose', { skip: skipBf16 }, async () => {
  await tf.setBackend('native');
  const kept = keptFilters();
  // A 1x1 convolution: the matmul path ('auto'). Its reference is the same model on the primitive path.
  const model = tf.sequential({
    layers: [tf.layers.conv2d({ inputShape: [4, 4, 64], filters: 48, kernelSize: 1,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 2 }) })],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const x = tf.tensor4d(randomValues(2 * 4 * 4 * 64, 3), [2, 4, 4, 64]);
  const predict = (algorithm: 'auto' | 'primitive') => {
    loadAddon()!.setConvAlgorithm(algorithm);
    setNativePrecision('bfloat16');
    try {
      return tf.tidy(() => Float32Array.from((model.predict(x) as tf.Tensor).dataSync()));
    } finally {
      setNativePrecision('float32');
      loadAddon()!.setConvAlgorithm('auto');
    }
  };
  const check = (what: string) => {
    const gemm = predict('auto');
    assertClose(gemm, predict('primitive'), CONV_TOLERANCE, what);
    return gemm;
  };
  const first = check('first prediction');
  assert.equal(keptFilters(), kept + 2, 'one bf16 copy (matmul) and one blocked copy (the primitive reference)');
  assert.deepEqual(predict('auto'), first, 'the second prediction (cached copy) is identical');
  await model.trainOnBatch(x, tf.zeros([2, 4, 4, 48]));
  const afterStep = check('after an optimizer step');
  assert.throws(() => assertClose(afterStep, first, CONV_TOLERANCE, 'changed'), 'the step changed the output');
  const doubled = tf.mul(model.getWeights()[0], 2);
  (model.layers[0] as unknown as { kernel: { write(t: tf.Tensor): void } }).kernel.write(doubled);
  check('after an assign');
  model.dispose();
  tf.dispose([x, doubled]);
  assert.equal(keptFilters(), kept, 'disposing the model frees its copies');
});
