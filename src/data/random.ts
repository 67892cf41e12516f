// Seeded randomness for the data pipeline. mulberry32 is a tiny, well-known 32-bit PRNG: fast,
// good enough statistically for shuffling and augmentation, and identical on every platform.

/** Returns a generator of floats uniform in [0, 1), fully determined by the 32-bit integer `seed`. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `values` in place (Fisher–Yates) with the generator `random`. */
export function shuffleInPlace(values: { length: number; [i: number]: number }, random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = values[i];
    values[i] = values[j];
    values[j] = tmp;
  }
}

/** A permutation of 0..n-1 determined by `seed` (an integer; it is taken modulo 2^32). */
export function shuffledIndices(n: number, seed: number): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`shuffledIndices: n must be a non-negative integer, got ${n}`);
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  shuffleInPlace(indices, mulberry32(seed));
  return indices;
}
