// Native element-wise, reduction, pooling, tile and batch-norm kernels vs the cpu backend, on odd
// shapes and every broadcast pattern the kernels take (plus ones they hand back to the cpu kernel).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { broadcastsAlongTrailing, rowRepeat } from '../../../src/engine/native/elementwise.js';
import { reductionLayout } from '../../../src/engine/native/reduce.js';
import { assertMatchesCpu, EXACT, randomValues, runOn, skip, type Tolerance } from './helpers.js';

/** Element-wise float32 results (no sums): a couple of ulps of each value (sqrt/exp/log/division rounding). */
const ELEMENTWISE_TOLERANCE: Tolerance = { abs: 0, rel: 1e-6 };
/**
 * Sums of up to 8,316 values in [-1, 1), both accumulated in double then rounded to float: a few
 * ulps of each result, and 1e-7 for results that cancel to near zero (measured worst: 3e-8).
 */
const REDUCE_TOLERANCE: Tolerance = { abs: 1e-7, rel: 1e-6 };
/** Pooling windows of up to 9 values in [-1, 1), summed in another order: 1e-6 for results near zero. */
const POOL_TOLERANCE: Tolerance = { abs: 1e-6, rel: 1e-6 };
/**
 * Batch norm and its gradients on values of order 1 (per-channel sums over 60 positions), computed
 * with other roundings than the cpu's formula: 1e-5 of each value, 1e-6 for ones near zero.
 */
const BATCH_NORM_TOLERANCE: Tolerance = { abs: 1e-6, rel: 1e-5 };

const t = (shape: number[], seed: number, offset = 0) =>
  tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed).map((v) => v + offset), shape);

test('broadcast and reduction layouts are classified correctly', () => {
  assert.equal(broadcastsAlongTrailing([5], [2, 3, 4, 5]), true);
  assert.equal(broadcastsAlongTrailing([1, 1, 4, 5], [2, 3, 4, 5]), true);
  assert.equal(broadcastsAlongTrailing([2, 1], [2, 5]), false);
  assert.equal(rowRepeat([2, 1], [2, 5]), 5);
  assert.equal(rowRepeat([4, 1, 1], [4, 3, 5]), 15);
  assert.equal(rowRepeat([3, 1], [2, 3, 5]), 0); // a leading dimension broadcasts too
  assert.equal(rowRepeat([1, 5], [2, 5]), 0);
  assert.deepEqual(reductionLayout([2, 3, 4, 5], [0, 1, 2]), { batch: 1, reduced: 24, kept: 5 });
  assert.deepEqual(reductionLayout([2, 3, 4, 5], [3]), { batch: 24, reduced: 5, kept: 1 });
  assert.deepEqual(reductionLayout([2, 3, 4, 5], [1, 2]), { batch: 2, reduced: 12, kept: 5 });
  assert.deepEqual(reductionLayout([2, 3, 4, 5], [1]), { batch: 2, reduced: 3, kept: 20 });
  assert.deepEqual(reductionLayout([2, 1, 4, 5], [0, 2]), { batch: 1, reduced: 8, kept: 5 }); // size-1 dims ignored
  assert.equal(reductionLayout([2, 3, 4, 5], [0, 2]), null);
});

const binaryOps: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
  ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div],
  ['squaredDifference', tf.squaredDifference], ['maximum', tf.maximum], ['minimum', tf.minimum],
];
const shapePairs: number[][][] = [
  [[3, 5, 7, 9], [3, 5, 7, 9]], [[3, 5, 7, 9], [9]], [[9], [3, 5, 7, 9]], [[3, 5, 7, 9], []],
  [[], [3, 5, 7, 9]], [[4, 1], [4, 6]], [[2, 200, 101], [1, 1, 101]], [[200, 300], [300]],
];
for (const [name, op] of binaryOps) {
  test(`${name} matches cpu for full, channel, scalar and other broadcasts`, { skip }, async () => {
    for (const [i, [as, bs]] of shapePairs.entries()) {
      // The divisor is kept away from 0 so that the comparison is about rounding, not blow-up.
      await assertMatchesCpu(() => op(t(as, i), t(bs, 100 + i, name === 'div' ? 3 : 0)), ELEMENTWISE_TOLERANCE, `${name} ${as} ${bs}`);
    }
  });
}

test('int32 add falls back to the cpu kernel and stays exact', { skip }, async () => {
  await assertMatchesCpu(() => tf.cast(tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.scalar(4, 'int32')), 'float32'), EXACT, 'int32 add');
});

const unaryOps: Array<[string, (x: tf.Tensor) => tf.Tensor, number]> = [
  ['relu', tf.relu, 0], ['sqrt', tf.sqrt, 1.5], ['rsqrt', tf.rsqrt, 1.5], ['square', tf.square, 0], ['neg', tf.neg, 0],
  ['exp', tf.exp, 0], ['log', tf.log, 1.5], ['abs', tf.abs, 0], ['step', (x) => tf.step(x, 0.25), 0],
  ['reciprocal', tf.reciprocal, 3], ['relu6', (x) => tf.relu6(tf.mul(x, 8)), 0], ['sigmoid', tf.sigmoid, 0],
];
for (const [name, op, offset] of unaryOps) {
  test(`${name} matches cpu`, { skip }, async () => {
    await assertMatchesCpu(() => op(t([3, 7, 11, 13], 7, offset)), ELEMENTWISE_TOLERANCE, name);
  });
}

test('Sum and Mean over leading, trailing and other axes match cpu', { skip }, async () => {
  const x = () => t([4, 9, 7, 33], 3);
  for (const axes of [[0, 1, 2], [3], [2, 3], [0], [1], [0, 2], [0, 1, 2, 3]]) {
    for (const keepDims of [false, true]) {
      await assertMatchesCpu(() => [tf.sum(x(), axes, keepDims), tf.mean(x(), axes, keepDims)], REDUCE_TOLERANCE, `axes ${axes} keepDims ${keepDims}`);
    }
  }
});

test('binary ops with one value per row ([..., 1] against [..., N]) match cpu, either side', { skip }, async () => {
  for (const [name, op] of binaryOps) {
    await assertMatchesCpu(() => {
      const rows = t([6, 1], 4, 1.5), full = t([6, 1000], 5), rows3 = t([2, 3, 1, 1], 6, 1.5), full3 = t([2, 3, 4, 5], 7);
      return [op(full, rows), op(rows, full), op(full3, rows3), op(rows3, full3)];
    }, ELEMENTWISE_TOLERANCE, `${name} by rows`);
  }
});

test('Softmax over the last axis and its gradient match cpu (1000 classes; large logits)', { skip }, async () => {
  await assertMatchesCpu(() => {
    const logits = t([5, 1000], 8), large = tf.mul(t([2, 3, 7], 9), 80), w = t([5, 1000], 10);
    const [dLogits] = tf.grads((a) => tf.sum(tf.mul(tf.softmax(a), w)))([logits]);
    return [tf.softmax(logits), tf.softmax(large), dLogits];
    // Probabilities of 1000 classes are ~1e-3 and their gradients smaller: relative, 1e-6 of each
    // (exp, then a double sum of 1000 terms); 1e-10 only for values that underflow (large logits).
  }, { abs: 1e-10, rel: 1e-6 }, 'softmax');
});

test('Tile matches cpu', { skip }, async () => {
  await assertMatchesCpu(() => tf.tile(t([1, 1, 1, 7], 1), [3, 5, 2, 1]), EXACT, 'channel tile');
  await assertMatchesCpu(() => tf.tile(t([2, 3, 5], 2), [2, 1, 3]), EXACT, 'general tile');
});

test('MaxPool, AvgPool and their gradients match cpu (3x3/2 valid, 2x2, 3x3/2 same, odd sizes)', { skip }, async () => {
  const cases: Array<[number[], number, number, 'same' | 'valid']> = [
    [[2, 15, 15, 8], 3, 2, 'valid'], [[3, 4, 6, 5], 2, 2, 'valid'], [[2, 9, 7, 3], 3, 2, 'same'], [[1, 5, 5, 2], 3, 1, 'same'],
  ];
  for (const [shape, k, s, pad] of cases) {
    await assertMatchesCpu(() => {
      const x = t(shape, 4);
      const [dMax] = tf.grads((a) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, k, s, pad))))([x]);
      const [dAvg] = tf.grads((a) => tf.sum(tf.square(tf.avgPool(a as tf.Tensor4D, k, s, pad))))([x]);
      return [tf.maxPool(x as tf.Tensor4D, k, s, pad), tf.avgPool(x as tf.Tensor4D, k, s, pad), dMax, dAvg];
    }, POOL_TOLERANCE, `pool ${shape} ${k}/${s} ${pad}`);
  }
});

test('MaxPool gradient goes to the first maximum of a window with ties', { skip }, async () => {
  await assertMatchesCpu(() => {
    const x = tf.tensor4d([1, 1, 1, 1, 2, 2, 0, 2, 2], [1, 3, 3, 1]);
    return tf.grads((a) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 1, 'valid')))([x])[0];
  }, EXACT, 'ties');
});

test('MaxPool gradient with NaN and ties, 64 channels (the vectorized loop and its tail)', { skip }, async () => {
  // Per channel c of each 2x2 window: ties (the first of them wins), a NaN first cell (c % 3 == 1)
  // or a NaN later cell (c % 3 == 2): NaN cells are skipped, as the cpu backend skips them.
  const C = 67, values = new Float32Array(4 * 4 * C);
  for (let cell = 0; cell < 16; cell++) {
    for (let c = 0; c < C; c++) {
      const v = cell % 4 === 0 || cell % 4 === 3 ? 5 : cell;
      values[cell * C + c] = c % 3 === 1 && cell === 0 ? NaN : c % 3 === 2 && cell === 5 ? NaN : v;
    }
  }
  const same = (x: number, y: number) => (Number.isNaN(x) && Number.isNaN(y)) || x === y;
  const [expected] = await runOn('cpu', () => tf.grads((a) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))([tf.tensor4d(values, [1, 4, 4, C])])[0]);
  const [actual] = await runOn('native', () => tf.grads((a) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))([tf.tensor4d(values, [1, 4, 4, C])])[0]);
  expected.forEach((e, i) => assert.ok(same(actual[i], e), `at ${i}: ${actual[i]} vs ${e}`));
});

test('tensors above the one-thread limit (multi-threaded loops) match cpu: pools, batch norm, element-wise', { skip }, async () => {
  // 4x32x32x40 = 163,840 elements > kParallelMin (131,072) in native/src/common.h.
  const shape = [4, 32, 32, 40];
  await assertMatchesCpu(() => {
    const x = t(shape, 21), y = t(shape, 22);
    const layer = tf.layers.batchNormalization({ axis: 3 });
    layer.build(shape);
    const loss = (a: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.add(layer.apply(a, { training: true }) as tf.Tensor, y)), y));
    const [dx] = tf.grads(loss)([x]);
    const [dPool] = tf.grads((a) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, 3, 2, 'valid'))))([x]);
    const out = [loss(x), dx, dPool, tf.sum(x, [0, 1, 2])];
    for (const v of layer.weights) v.dispose();
    return out;
  }, { abs: 1e-6, rel: 1e-5 }, 'large'); // batch-norm sums over 4,096 positions per channel, grouped differently
});

test('batchNorm with per-channel statistics matches cpu, with and without scale/offset', { skip }, async () => {
  await assertMatchesCpu(() => {
    const x = t([3, 5, 4, 6], 1);
    const mean = t([6], 2), variance = t([6], 3, 1.5), scale = t([6], 4), offset = t([6], 5);
    return [tf.batchNorm(x, mean, variance, offset, scale, 1e-3), tf.batchNorm(x, mean, variance)];
  }, BATCH_NORM_TOLERANCE, 'batchNorm');
});

test('the native batch-norm, ReLU and Square gradients match tfjs-core gradients on cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const x = t([3, 5, 4, 6], 1), mean = t([6], 2), variance = t([6], 3, 1.5), scale = t([6], 4), offset = t([6], 5);
    const upstream = t([3, 5, 4, 6], 6);
    const loss = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      tf.sum(tf.mul(tf.batchNorm(a, m, v, o, s, 1e-3), upstream));
    const [dReluX] = tf.grads((a) => tf.sum(tf.mul(tf.relu(a), upstream)))([x]);
    const [dSquareX] = tf.grads((a) => tf.sum(tf.mul(tf.square(a), upstream)))([x]);
    return [...tf.grads(loss as (...ts: tf.Tensor[]) => tf.Tensor)([x, mean, variance, scale, offset]), dReluX, dSquareX];
  }, BATCH_NORM_TOLERANCE, 'batchNorm/relu gradients');
});

test('the native Mean gradient matches cpu over leading, all, trailing and middle axes', { skip }, async () => {
  await assertMatchesCpu(() => {
    const x = t([3, 5, 4, 6], 8), up = t([6], 9), upPooled = t([3, 6], 10);
    return [
      tf.grads((a) => tf.sum(tf.mul(tf.mean(a, [0, 1, 2]), up)))([x])[0],
      tf.grads((a) => tf.mul(tf.mean(a), 3))([x])[0],
      tf.grads((a) => tf.sum(tf.square(tf.mean(a, [3]))))([x])[0],
      // global average pooling: the mean over H and W
      tf.grads((a) => tf.sum(tf.mul(tf.mean(a, [1, 2]), upPooled)))([x])[0],
    ];
    // Gradients of means over up to 120 values: ~0.01-0.2 each, relative, with 1e-8 for results
    // that cancel (the squared-mean case sums in another order; measured worst 2e-9 beyond 1e-6 rel).
  }, { abs: 1e-8, rel: 1e-6 }, 'mean gradients');
});

test('global average pooling of a large batch (mean over H, W; parallel over the batch) and its gradient match cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const x = t([32, 4, 4, 512], 11), up = t([32, 512], 12);
    return [tf.mean(x, [1, 2]), tf.grads((a) => tf.sum(tf.mul(tf.mean(a, [1, 2]), up)))([x])[0]];
  }, REDUCE_TOLERANCE, 'global average pooling');
});

test('chained scalar and channel broadcasts match cpu', { skip }, async () => {
  await assertMatchesCpu(() => tf.add(tf.add(t([1, 1, 7], 3), tf.scalar(2)), tf.zeros([4, 5, 7])), EXACT, 'scalar+channel');
});

test('NaN, infinities and zeros: Relu gradient, Step, Maximum, Minimum match cpu exactly', { skip }, async () => {
  // The addon tests NaN as `x != x` so that its loops vectorize; this pins the semantics (NaN
  // propagates like the cpu kernels' isNaN checks; length 40 > one SIMD width, plus a tail).
  const special = [NaN, Infinity, -Infinity, 0, -0, 1.5, -2.5, 1e-30];
  const values = (shift: number) => Float32Array.from({ length: 40 }, (_, i) => special[(i + shift) % special.length]);
  const run = async (backend: 'cpu' | 'native') => {
    await tf.setBackend(backend);
    const outs = tf.tidy(() => {
      const a = tf.tensor1d(values(0)), b = tf.tensor1d(values(3));
      const reluGrad = tf.grad((x: tf.Tensor) => tf.relu(x))(a, b);
      return [reluGrad, tf.step(a, 0.25), tf.maximum(a, b), tf.minimum(a, b)];
    });
    const data = outs.map((o) => Array.from(o.dataSync()));
    tf.dispose(outs);
    return data;
  };
  const expected = await run('cpu');
  const actual = await run('native');
  const same = (x: number, y: number) => (Number.isNaN(x) && Number.isNaN(y)) || x === y;
  expected.forEach((e, k) => e.forEach((v, i) =>
    assert.ok(same(actual[k][i], v), `output ${k} [${i}]: native ${actual[k][i]} vs cpu ${v}`)));
});
