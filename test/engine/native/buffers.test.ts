// Recycling of the native kernels' output arrays: a recycled array must never be one that a user
// (dataSync) or another live tensor (a slice view) still sees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { BufferPool, defaultPoolLimitBytes } from '../../../src/engine/native/buffers.js';
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

test('BufferPool keeps at most limitBytes on its free lists; the rest is left to the GC', () => {
  const bytes = LENGTH * 4;
  const pool = new BufferPool(2 * bytes);
  const arrays = [pool.take(LENGTH), pool.take(LENGTH), pool.take(LENGTH)];
  for (const a of arrays) { pool.retain(a); pool.release(a); }
  assert.equal(pool.pooledBytes, 2 * bytes);
  const again = [pool.take(LENGTH), pool.take(LENGTH), pool.take(LENGTH)];
  assert.deepEqual(again.map((a) => arrays.some((b) => b.buffer === a.buffer)), [true, true, false]);
  assert.equal(pool.pooledBytes, 0);
});

test('the default pool limit is 1/8 of memory, at least 512 MiB, or RESNET_NATIVE_POOL_MB; an invalid value is an error', () => {
  const MIB = 1024 * 1024, GIB = 1024 * MIB;
  assert.equal(defaultPoolLimitBytes({}, 16 * GIB), 2 * GIB);
  assert.equal(defaultPoolLimitBytes({}, 2 * GIB), 512 * MIB);
  assert.equal(defaultPoolLimitBytes({ RESNET_NATIVE_POOL_MB: '100' }, 16 * GIB), 100 * MIB);
  assert.equal(defaultPoolLimitBytes({ RESNET_NATIVE_POOL_MB: '' }, 16 * GIB), 2 * GIB);
  for (const bad of ['lots', '-1', ' ', 'NaN']) {
    assert.throws(() => defaultPoolLimitBytes({ RESNET_NATIVE_POOL_MB: bad }, 16 * GIB), /^Error: RESNET_NATIVE_POOL_MB must be a number of MiB >= 0|RESNET_NATIVE_POOL_MB must be a number of MiB >= 0/, bad);
  }
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
