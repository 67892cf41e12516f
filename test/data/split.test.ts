// Seeded shuffling, subsets and the stratified train/validation split.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classCounts, DataError, mulberry32, shuffledIndices, stratifiedSplit, subsetDataset, type ImageDataset } from '../../src/data/index.js';

/** A 1x1x1 dataset whose pixel i is the level i (so images can be traced; fewer than 256) and labels as given. */
function tinyDataset(labels: number[], classes: number): ImageDataset {
  return {
    images: Uint8Array.from(labels, (_, i) => i),
    labels: Int32Array.from(labels),
    shape: [labels.length, 1, 1, 1],
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
    source: 'memory',
  };
}

describe('mulberry32 and shuffledIndices', () => {
  it('mulberry32 matches values computed independently (Python, 32-bit arithmetic)', () => {
    const random = mulberry32(42);
    for (const expected of [0.6011037519201636, 0.44829055899754167, 0.8524657934904099]) assert.equal(random(), expected);
    const zero = mulberry32(0);
    assert.equal(zero(), 0.26642920868471265);
  });

  it('is a permutation, the same for a seed, different for another seed', () => {
    const a = shuffledIndices(1000, 7);
    assert.deepEqual([...a].sort((p, q) => p - q), Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(shuffledIndices(1000, 7), a);
    const b = shuffledIndices(1000, 8);
    assert.notDeepEqual(b, a);
    assert.ok(a.some((v, i) => v !== i), 'not the identity');
    assert.deepEqual(shuffledIndices(0, 1), new Int32Array(0));
  });

  it('puts each element in each position about equally often (chi-squared over 3000 shuffles of 4)', () => {
    const counts = Array.from({ length: 4 }, () => new Array<number>(4).fill(0));
    for (let seed = 0; seed < 3000; seed++) shuffledIndices(4, seed).forEach((v, pos) => counts[v][pos]++);
    const expected = 3000 / 4;
    const chi2 = counts.flat().reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: P(chi2 > 27.9) = 0.001.
    assert.ok(chi2 < 27.9, `chi2 = ${chi2}`);
  });
});

describe('stratifiedSplit', () => {
  // 50 of class 0, 30 of class 1, 2 of class 2, 1 of class 3, interleaved.
  const labels = [...Array(50).fill(0), ...Array(30).fill(1), 2, 2, 3].map((l, i, all) => all[(i * 7) % all.length]);
  const ds = tinyDataset(labels, 4);

  it('keeps each class proportion, at least one per class with >= 2 images, none from a singleton class', () => {
    const counts = classCounts(ds);
    const { train, val } = stratifiedSplit(ds, 0.2, 3);
    assert.deepEqual(classCounts(val), [10, 6, 1, 0]);
    assert.deepEqual(classCounts(train), counts.map((c, k) => c - [10, 6, 1, 0][k]));
    assert.deepEqual(train.shape, [counts.reduce((a, b) => a + b) - 17, 1, 1, 1]);
    assert.deepEqual(val.classNames, ds.classNames);
  });

  it('is a partition of the images, labels travel with their images, original order kept', () => {
    const { train, val } = stratifiedSplit(ds, 0.3, 11);
    const ids = (part: ImageDataset) => Array.from(part.images);
    const all = [...ids(train), ...ids(val)].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: labels.length }, (_, i) => i));
    for (const part of [train, val]) {
      const id = ids(part);
      id.forEach((original, k) => assert.equal(part.labels[k], labels[original]));
      assert.deepEqual(id, [...id].sort((a, b) => a - b));
    }
  });

  it('is deterministic for a seed and varies with it', () => {
    const first = stratifiedSplit(ds, 0.2, 5).val.images;
    assert.deepEqual(stratifiedSplit(ds, 0.2, 5).val.images, first);
    assert.notDeepEqual(stratifiedSplit(ds, 0.2, 6).val.images, first);
  });

  it('valFraction 0 gives an empty validation part; out of range is a DataError', () => {
    const { train, val } = stratifiedSplit(ds, 0, 1);
    assert.equal(train.shape[0], labels.length);
    assert.deepEqual(val.shape, [0, 1, 1, 1]);
    for (const bad of [1, -0.1, Number.NaN]) assert.throws(() => stratifiedSplit(ds, bad, 1), DataError);
  });

  it('subsetDataset copies images in the order given and rejects bad indices', () => {
    const sub = subsetDataset(ds, [5, 0, 5]);
    assert.deepEqual(sub.images, Uint8Array.from([5, 0, 5]));
    assert.deepEqual([...sub.labels], [labels[5], labels[0], labels[5]]);
    sub.images[0] = 9;
    assert.equal(ds.images[5], 5, 'the source is untouched');
    assert.throws(() => subsetDataset(ds, [labels.length]), RangeError);
  });
});
