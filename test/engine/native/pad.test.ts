// Native PadV2 (row copies) vs the cpu backend: ResNet's zero padding of the input image, other
// ranks, constant values and dimensions left unpadded. Copies only: results must be identical.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { assertMatchesCpu, randomValues, runOn, skip } from './helpers.js';

const EXACT = 0;

const cases: Array<{ shape: number[]; paddings: Array<[number, number]>; value: number }> = [
  { shape: [2, 5, 4, 3], paddings: [[0, 0], [3, 3], [3, 3], [0, 0]], value: 0 },
  { shape: [1, 3, 3, 2], paddings: [[1, 0], [0, 2], [2, 1], [1, 1]], value: -1.5 },
  { shape: [4, 7], paddings: [[2, 1], [0, 3]], value: 0.25 },
  { shape: [6], paddings: [[0, 4]], value: 0 },
  { shape: [2, 0, 3], paddings: [[1, 1], [1, 1], [0, 0]], value: 2 },
  { shape: [2, 3, 4], paddings: [[1, 2], [0, 0], [0, 0]], value: 3 },
  { shape: [2, 3, 4], paddings: [[0, 0], [0, 0], [0, 0]], value: 3 },
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
