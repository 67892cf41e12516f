// Shared by the native-engine tests: registration (test/support/native.ts: the reason to skip when
// the engine is not available, or a failure under RESNET_REQUIRE_NATIVE=1), running one computation
// on a given backend, and comparing results within a stated tolerance (test/support/tolerance.ts).
import assert from 'node:assert/strict';
import * as tf from '../../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { assertClose, type Tolerance } from '../../support/tolerance.js';
import { bf16Skip, nativeSkip } from '../../support/native.js';

export { assertClose, EXACT, type Tolerance } from '../../support/tolerance.js';
/** `false` when the native engine runs here, else the reason its tests are skipped. */
export const skip = nativeSkip;
/** `false` when the native engine computes in bfloat16 here, else the reason those tests are skipped. */
export const skipBf16 = bf16Skip;

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

/** Compares `f` on the native backend with the cpu backend, output by output, within `tol` (support/tolerance.ts). */
export async function assertMatchesCpu(f: () => tf.Tensor | tf.Tensor[], tol: Tolerance, what: string): Promise<void> {
  const expected = await runOn('cpu', f);
  const actual = await runOn('native', f);
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assertClose(actual[i], e, tol, `${what} [output ${i}]`));
}
