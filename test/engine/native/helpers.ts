// Shared by the native-engine tests: registration (with the reason to skip when the addon is not
// built), running one computation on a given backend, and comparing results with a tolerance.
import assert from 'node:assert/strict';
import * as tf from '../../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { nativeUnavailableReason, registerNativeBackend } from '../../../src/engine/native/backend.js';

const available = registerNativeBackend();
/** `false` when the native engine loads, else the reason the tests are skipped. */
export const skip: false | string = available ? false : `native addon not built: ${nativeUnavailableReason()}`;

/** Runs `f` on `backend` and returns its outputs' values (the tensors are freed). */
export async function runOn(backend: 'cpu' | 'native', f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(f);
  const list = Array.isArray(outs) ? outs : [outs];
  const values = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return values;
}

/** Deterministic pseudo-random values in [-1, 1) (a linear congruential generator; no tf state). */
export function randomValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Asserts |actual - expected| <= relTol * max(1, max |expected|) elementwise: float32 sums in a
 * different order differ by a few ulps of the largest magnitude involved.
 */
export function assertClose(actual: Float32Array, expected: Float32Array, relTol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0, at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= relTol * scale, `${what}: |diff| ${worst} at ${at} > ${relTol} * ${scale}`);
}

/** Compares `f` on the native backend with the cpu backend, output by output. */
export async function assertMatchesCpu(f: () => tf.Tensor | tf.Tensor[], relTol: number, what: string): Promise<void> {
  const expected = await runOn('cpu', f);
  const actual = await runOn('native', f);
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assertClose(actual[i], e, relTol, `${what} [output ${i}]`));
}
