// The gradients the native engine registers in place of tfjs-core's (gradients.ts: Relu, Square,
// Mean, FusedBatchNorm), against tfjs-core's own gradients as they were before the replacement,
// re-registered for the comparison: on the cpu backend (the Relu replacement applies on every
// backend: it reads Relu's output instead of its input) and on the native one. If a tfjs release
// changed what these gradients compute, this is where it shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { tfjsGradient } from '../../../src/engine/native/gradients.js';
import { assertClose, EXACT, randomValues, runOn, skip, type Tolerance } from './helpers.js';

/** Runs `f` with tfjs-core's own gradient of `kernel` registered, then puts the engine's back. */
async function withTfjsGradient<T>(kernel: string, f: () => Promise<T>): Promise<T> {
  const ours = tf.getGradient(kernel)!, theirs = tfjsGradient(kernel);
  assert.ok(theirs && theirs !== ours, `${kernel}: the engine replaced tfjs-core's gradient`);
  tf.registerGradient(theirs);
  try {
    return await f();
  } finally {
    tf.registerGradient(ours);
  }
}

/**
 * `grad` on cpu and native with the engine's gradient, then both again with tfjs-core's: the
 * engine's against tfjs-core's on each backend within `same`, and native against cpu within `across`.
 */
async function compareWithTfjs(kernel: string, grad: () => tf.Tensor | tf.Tensor[], tol: { same: Tolerance; across: Tolerance }): Promise<void> {
  const ours = { cpu: await runOn('cpu', grad), native: await runOn('native', grad) };
  const theirs = await withTfjsGradient(kernel, async () => ({ cpu: await runOn('cpu', grad), native: await runOn('native', grad) }));
  theirs.cpu.forEach((expected, i) => {
    assertClose(ours.cpu[i], expected, tol.same, `${kernel} gradient ${i} on cpu, the engine's vs tfjs-core's`);
    assertClose(ours.native[i], theirs.native[i], tol.same, `${kernel} gradient ${i} on native, the engine's vs tfjs-core's`);
    assertClose(ours.native[i], expected, tol.across, `${kernel} gradient ${i}, the engine's on native vs tfjs-core's on cpu`);
  });
}

/** Values with NaN, infinities, signed zeros and tiny values first, then pseudo-random ones in [-1, 1). */
function withSpecials(length: number, seed: number): Float32Array {
  const special = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 1.5, -2.5];
  const out = randomValues(length, seed);
  for (let i = 0; i < 90; i++) out[(i * 7) % length] = special[(i + seed) % special.length];
  return out;
}

test('ReLU: the engine\'s gradient equals tfjs-core\'s own bit for bit, on cpu and native, with NaN, infinities and zeros', { skip }, async () => {
  // tfjs-core saves x and computes dy * step(x); the engine saves y = relu(x) and computes dy * step(y).
  assert.deepEqual(tfjsGradient('Relu')!.inputsToSave, ['x']);
  assert.deepEqual(tf.getGradient('Relu')!.outputsToSave, [true]);
  const x = withSpecials(1000, 1), dy = withSpecials(1000, 2);
  await compareWithTfjs('Relu', () => tf.grad((a: tf.Tensor) => tf.relu(a))(tf.tensor1d(x), tf.tensor1d(dy)), { same: EXACT, across: EXACT });
  // ... and after a batch norm (the deferred batch norm + ReLU path on native), whose own gradient
  // differs across backends by float32 rounding (values of order 1: 1e-5 of each, 1e-6 near zero).
  await compareWithTfjs('Relu', () => {
    const t = tf.tensor4d(randomValues(2 * 5 * 4 * 8, 3), [2, 5, 4, 8]);
    // (batchNorm with offset and scale: without them tfjs-core 4.22's tape cannot differentiate it.)
    return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.batchNorm(a, tf.zeros([8]), tf.ones([8]), tf.zeros([8]), tf.ones([8]))), t)))(t);
  }, { same: EXACT, across: { abs: 1e-6, rel: 1e-5 } });
});

test('Square: the engine\'s gradient equals tfjs-core\'s own bit for bit (dy * 2x in the same order)', { skip }, async () => {
  const x = withSpecials(1000, 4), dy = withSpecials(1000, 5);
  await compareWithTfjs('Square', () => tf.grad((a: tf.Tensor) => tf.square(a))(tf.tensor1d(x), tf.tensor1d(dy)), { same: EXACT, across: EXACT });
});

test('Mean: the engine\'s gradient matches tfjs-core\'s over leading, middle and trailing axes', { skip }, async () => {
  // dy / count (tfjs-core: ones * dy, then a division) vs dy * (1 / count): one rounding apart. Across
  // backends dy = 2 mean, whose sums (up to 60 values) run in another order: 1e-5, 1e-9 where it cancels.
  const x = tf.tensor4d(randomValues(3 * 5 * 4 * 6, 6), [3, 5, 4, 6]);
  for (const axes of [[0, 1, 2], [1, 2], [3]]) {
    await compareWithTfjs('Mean', () => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.mean(a, axes))))(x.clone()), { same: { abs: 0, rel: 1e-6 }, across: { abs: 1e-9, rel: 1e-5 } });
  }
  x.dispose();
});

test('FusedBatchNorm: the engine\'s gradient matches tfjs-core\'s for x, mean, variance, scale and offset', { skip }, async () => {
  // Values of order 1; per-channel sums over 60 positions in another order: 1e-5 of each, 1e-6 near zero.
  const v = (shape: number[], seed: number, shift = 0) => tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed).map((e) => e + shift), shape);
  await compareWithTfjs('FusedBatchNorm', () => {
    const up = v([3, 5, 4, 6], 7);
    const loss = (a: tf.Tensor, m: tf.Tensor, s2: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.batchNorm(a, m, s2, b, g, 1e-3), up));
    return tf.grads(loss as (...t: tf.Tensor[]) => tf.Tensor)([v([3, 5, 4, 6], 8), v([6], 9), v([6], 10, 1.5), v([6], 11), v([6], 12)]);
  }, { same: { abs: 1e-6, rel: 1e-5 }, across: { abs: 1e-6, rel: 1e-5 } });
});
