// Native BatchMatMul and _FusedMatMul (oneDNN matmul) vs the cpu backend: every transpose
// combination, ranks 2 to 4, bias and ReLU, a dense layer's gradients, and the broadcast batch
// dimensions it leaves to the cpu kernel.
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { assertMatchesCpu, randomValues, skip, type Tolerance } from './helpers.js';

/**
 * float32 dot products of `terms` products of values in [-1, 1), summed in another order: 1e-5 of
 * each value, and 2e-7 per term for results that cancel (measured worst: 5e-6 with 2048 terms).
 */
const matMulTolerance = (terms: number): Tolerance => ({ abs: 2e-7 * terms, rel: 1e-5 });

const t = (shape: number[], seed: number) => tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);

for (const [batch, M, N, K] of [[[], 7, 5, 300], [[3], 4, 9, 17], [[2, 2], 1, 6, 33], [[], 32, 1000, 64]] as Array<[number[], number, number, number]>) {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const label = `batch ${JSON.stringify(batch)} ${M}x${K} by ${K}x${N}, transposes ${transposeA}/${transposeB}`;
      test(`MatMul matches cpu: ${label}`, { skip }, async () => {
        await assertMatchesCpu(() => {
          const a = t([...batch, ...(transposeA ? [K, M] : [M, K])], 1), b = t([...batch, ...(transposeB ? [N, K] : [K, N])], 2);
          return tf.matMul(a, b, transposeA, transposeB);
        }, matMulTolerance(K), label);
      });
    }
  }
}

test('fused MatMul with bias and ReLU, and its gradients, match cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const a = t([8, 40], 3), b = t([40, 12], 4), bias = t([12], 5);
    const dense = (x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) =>
      tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: c, activation: 'relu' });
    const grads = tf.grads((x, w, c) => tf.sum(tf.square(dense(x, w, c))))([a, b, bias]);
    return [dense(a, b, bias), ...grads, tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias })];
  }, matMulTolerance(40), 'fused'); // the weight gradient sums 8 terms, the input's 12
});

test('a dense layer of 2048 -> 1000 (an ImageNet classifier head): output and gradients match cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const layer = tf.layers.dense({ units: 1000, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) });
    layer.build([4, 2048]);
    const x = t([4, 2048], 7);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar);
    const out = [value, ...layer.trainableWeights.map((w) => grads[w.name])];
    for (const w of layer.weights) w.dispose();
    return out;
  }, matMulTolerance(2048), 'dense 2048 -> 1000');
});

test('MatMul with broadcast batch dimensions is left to the cpu kernel and matches it', { skip }, async () => {
  await assertMatchesCpu(() => tf.matMul(t([1, 4, 5], 8), t([3, 5, 6], 9)), matMulTolerance(5), 'broadcast batch');
});
