// The one numeric comparison of the tests: element by element, |actual - expected| <= abs + rel *
// |expected| (numpy's isclose), with both tolerances stated at each call. `abs` is the floor for
// values near zero, in the units of the values compared: the error that summing in another order
// can leave on a result that cancels (state the magnitude of the terms it derives from); `rel` the
// part that scales with each value. Small values (probabilities, gradients) need a small `abs`, or
// the check says nothing about them. NaN must be NaN where expected, infinities equal.
import assert from 'node:assert/strict';

export interface Tolerance {
  /** Absolute floor, in the units of the values. */
  abs: number;
  /** Relative tolerance, a fraction of |expected|. */
  rel: number;
}

/** Exact equality (bit-identical values, NaN where NaN). */
export const EXACT: Tolerance = { abs: 0, rel: 0 };

/** The element that exceeds its bound by the largest factor, or null when all are within it. */
export function worstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance):
  { index: number; actual: number; expected: number; bound: number } | null {
  let worst: { index: number; actual: number; expected: number; bound: number } | null = null;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) return { index: i, actual: a, expected: e, bound: 0 };
      continue;
    }
    const bound = tol.abs + tol.rel * Math.abs(e);
    const diff = Math.abs(a - e);
    if (!(diff <= bound)) {
      const excess = Number.isNaN(diff) ? Infinity : diff / (bound || Number.MIN_VALUE);
      if (worst === null || excess > worstExcess) [worst, worstExcess] = [{ index: i, actual: a, expected: e, bound }, excess];
    }
  }
  return worst;
}

/** Asserts every |actual[i] - expected[i]| <= tol.abs + tol.rel * |expected[i]| (see above). */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const bad = worstMismatch(actual, expected, tol);
  assert.ok(bad === null, bad === null ? '' :
    `${what}: at ${bad.index} ${bad.actual} vs ${bad.expected}: |diff| ${Math.abs(bad.actual - bad.expected)} > ${bad.bound} (abs ${tol.abs} + rel ${tol.rel})`);
}
