// Recycling of the native kernels' output arrays: a recycled array must never be one that a user
// (dataSync) or another live tensor (a slice view) still sees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { BufferPool } from '../../../src/engine/native/buffers.js';
import { skip } from './helpers.js';

const LENGTH = 8192; // above the pool's minimum length

test('BufferPool recycles a buffer only after its last holder is released, never after it escaped', () => {
  const pool = new BufferPool();
  const a = pool.take(LENGTH);
  pool.retain(a);
  pool.retain(a.subarray(10, 20)); // a second data entry on the same buffer
  pool.release(a);
  assert.notEqual(pool.take(LENGTH).buffer, a.buffer, 'recycled while a view was alive');
  pool.release(a.subarray(10, 20));
  assert.equal(pool.take(LENGTH).buffer, a.buffer, 'not recycled after the last release');
  const b = pool.take(LENGTH);
  pool.retain(b);
  pool.escape(b);
  pool.release(b);
  assert.notEqual(pool.take(LENGTH).buffer, b.buffer, 'an escaped buffer was recycled');
});

test('values read with dataSync stay intact after the tensor is disposed and the size is reused', { skip }, async () => {
  await tf.setBackend('native');
  const ones = tf.ones([LENGTH]);
  const x = tf.add(ones, ones);
  const seen = x.dataSync();
  x.dispose();
  for (let i = 0; i < 5; i++) tf.dispose(tf.mul(ones, i));
  assert.ok(seen.every((v) => v === 2), 'a disposed tensor\'s array was reused while the caller held it');
  ones.dispose();
});

test('a slice sharing a disposed tensor\'s buffer keeps its values', { skip }, async () => {
  await tf.setBackend('native');
  const ones = tf.ones([4, LENGTH]);
  const x = tf.add(ones, ones);
  const row = tf.slice(x, [1, 0], [1, LENGTH]);
  x.dispose();
  for (let i = 0; i < 5; i++) tf.dispose(tf.mul(ones, i));
  assert.ok((await row.data()).every((v) => v === 2), 'a live slice view was overwritten');
  tf.dispose([row, ones]);
});
