// Native PadV2 and Slice (row copies) vs the cpu backend: ResNet's zero padding of the input image
// and its gradient, other ranks, constant values, dimensions left whole, contiguous slices (left to
// the cpu kernel). Copies only: results must be identical.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { assertMatchesCpu, EXACT, randomValues, runOn, skip } from './helpers.js';


const cases: Array<{ shape: number[]; paddings: Array<[number, number]>; value: number }> = [
  { shape: [2, 5, 4, 3], paddings: [[0, 0], [3, 3], [3, 3], [0, 0]], value: 0 },
  { shape: [1, 3, 3, 2], paddings: [[1, 0], [0, 2], [2, 1], [1, 1]], value: -1.5 },
  { shape: [4, 7], paddings: [[2, 1], [0, 3]], value: 0.25 },
  { shape: [6], paddings: [[0, 4]], value: 0 },
  { shape: [2, 0, 3], paddings: [[1, 1], [1, 1], [0, 0]], value: 2 },
  { shape: [2, 3, 4], paddings: [[1, 2], [0, 0], [0, 0]], value: 3 },
  { shape: [2, 3, 4], paddings: [[0, 0], [0, 0], [0, 0]], value: 3 },
  // ResNet-20's option-A shortcut: channels padded, rows of 16 values; large enough (2^18 elements
  // out) for the addon's loop to run on more than one thread.
  { shape: [32, 16, 16, 16], paddings: [[0, 0], [0, 0], [0, 0], [8, 8]], value: 0 },
];

for (const c of cases) {
  test(`PadV2 matches cpu: ${JSON.stringify(c.shape)} by ${JSON.stringify(c.paddings)} with ${c.value}`, { skip }, async () => {
    await assertMatchesCpu(() => tf.pad(tf.tensor(randomValues(tf.util.sizeFromShape(c.shape), 3), c.shape),
      c.paddings, c.value), EXACT, 'pad');
  });
}

test('PadV2 writes every element of a recycled output array', { skip }, async () => {
  // A recycled array holds old values: the pad value must overwrite them all.
  const [padded] = await runOn('native', () => {
    const sevens = tf.fill([1, 70, 70, 3], 7);
    for (let i = 0; i < 3; i++) tf.dispose(tf.add(sevens, i)); // native outputs, recycled on dispose
    return tf.pad(tf.zeros([1, 64, 64, 3]), [[0, 0], [3, 3], [3, 3], [0, 0]]);
  });
  assert.ok(padded.every((v) => v === 0), 'a recycled array\'s old values leaked into the padding');
});

const sliceCases: Array<{ shape: number[]; begin: number[]; size: number[] }> = [
  { shape: [2, 9, 9, 4], begin: [0, 1, 1, 0], size: [2, 7, 7, 4] }, // a padding gradient: H and W cut
  { shape: [2, 5, 4, 6], begin: [1, 0, 0, 2], size: [1, 5, 4, 3] }, // channels cut: rows of 3
  { shape: [3, 4, 5], begin: [0, 1, 0], size: [3, 2, -1] }, // -1: to the end
  { shape: [4, 7], begin: [1, 2], size: [2, 4] },
  { shape: [9], begin: [3], size: [4] }, // contiguous: the cpu kernel's view
  { shape: [4, 3, 2], begin: [1, 0, 0], size: [2, 3, 2] }, // contiguous rows of whole trailing dims
  { shape: [2, 3, 4], begin: [0, 1, 1], size: [2, 0, 3] }, // empty
  { shape: [32, 16, 16, 32], begin: [0, 0, 0, 8], size: [32, 16, 16, 16] }, // option A's gradient, several threads
  { shape: [3, 5, 4, 6, 2], begin: [1, 2, 0, 1, 0], size: [2, 3, 4, 4, 2] }, // rank 5, two merged dims
];

for (const c of sliceCases) {
  test(`Slice matches cpu: ${JSON.stringify(c.shape)} from ${JSON.stringify(c.begin)} size ${JSON.stringify(c.size)}`, { skip }, async () => {
    await assertMatchesCpu(() => tf.slice(tf.tensor(randomValues(tf.util.sizeFromShape(c.shape), 5), c.shape), c.begin, c.size), EXACT, 'slice');
  });
}

test('bad block geometry is refused by the addon before any copy', { skip }, async () => {
  const { loadAddon } = await import('../../../src/engine/native/addon.js');
  const addon = loadAddon()!;
  const i32 = (...v: number[]) => Int32Array.from(v);
  const outer = new Float32Array(12), block = new Float32Array(4);
  assert.throws(() => addon.copyBlock(outer, i32(3, 4), block, i32(2, 2), i32(2, 0), true), /inside the outer array/);
  assert.throws(() => addon.copyBlock(outer, i32(3, 4), block, i32(2, 2), i32(-1, 0), true), /inside the outer array/);
  assert.throws(() => addon.copyBlock(outer, i32(3, 5), block, i32(2, 2), i32(0, 0), true), /lengths do not match/);
  assert.throws(() => addon.copyBlock(outer, i32(3, 4), block, i32(2, 2), i32(0), true), /one rank/);
  assert.ok(outer.every((v) => v === 0), 'a refused call wrote');
});

test('the gradient of a zero padding (a Slice) matches cpu', { skip }, async () => {
  await assertMatchesCpu(() => {
    const x = tf.tensor4d(randomValues(2 * 6 * 6 * 8, 9), [2, 6, 6, 8]);
    const w = tf.tensor4d(randomValues(2 * 8 * 8 * 8, 10), [2, 8, 8, 8]);
    return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.pad(a, [[0, 0], [1, 1], [1, 1], [0, 0]]), w)))(x);
  }, EXACT, 'pad gradient');
});
