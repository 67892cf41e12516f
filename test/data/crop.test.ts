// Padded random crops: each image checked against TensorFlow.js's own pad -> slice -> reverse on the
// reference cpu backend, the draws' range and balance, and the hook in `augment`.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '../../src/tf.js';
import { applyCrops, augment, DataError, drawCropParams, mirrorImages, mulberry32, padCropFlip } from '../../src/data/index.js';
import { shiftImages } from '../../src/data/crop.js';
import { assembleBatch } from '../../src/data/assemble.js';

const shape: [number, number, number, number] = [40, 7, 9, 3];
const size = shape.reduce((a, b) => a * b);
const pixels = (seed: number) => Float32Array.from({ length: size }, mulberry32(seed));

/** The crop as TF.js ops: zero-pad by p, take the window at (top, left), mirror it. */
function reference(image: tf.Tensor3D, padding: number, top: number, left: number, flip: boolean): Float32Array {
  return tf.tidy(() => {
    const [h, w, c] = image.shape;
    const window = tf.slice(tf.pad(image, [[padding, padding], [padding, padding], [0, 0]]), [top, left, 0], [h, w, c]);
    return (flip ? tf.reverse(window, 1) : window).dataSync() as Float32Array;
  });
}

describe('padded random crops', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('equals pad -> slice -> reverse for every image and draw (padding 2 and 4)', () => {
    const input = pixels(1);
    const [n, h, w, c] = shape;
    for (const padding of [2, 4]) {
      const params = drawCropParams(n, padding, true, 7);
      const out = applyCrops(input, shape, padding, params);
      for (let i = 0; i < n; i++) {
        const image = tf.tensor3d(input.subarray(i * h * w * c, (i + 1) * h * w * c), [h, w, c]);
        const expected = reference(image, padding, params[i].top, params[i].left, params[i].flip);
        image.dispose();
        assert.deepEqual(out.subarray(i * h * w * c, (i + 1) * h * w * c), expected, `image ${i}, padding ${padding}`);
      }
    }
  });

  it('draws whole-pixel offsets in [0, 2p], all of them, and flips about half the images', () => {
    const params = drawCropParams(4000, 4, true, 3);
    const tops = new Set(params.map((p) => p.top));
    const lefts = new Set(params.map((p) => p.left));
    assert.deepEqual([...tops].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual([...lefts].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const flipped = params.filter((p) => p.flip).length;
    assert.ok(flipped > 1800 && flipped < 2200, `${flipped} of 4000 flipped`);
    // The offsets do not depend on whether flips are on.
    assert.deepEqual(drawCropParams(50, 4, false, 3).map((p) => [p.top, p.left]), params.slice(0, 50).map((p) => [p.top, p.left]));
    assert.ok(drawCropParams(50, 4, false, 3).every((p) => !p.flip));
  });

  it('padding 0 without flips is the identity; bad padding is a DataError', () => {
    const input = pixels(2);
    assert.deepEqual(padCropFlip(input, shape, 0, false, 5), input);
    assert.throws(() => padCropFlip(input, shape, 1.5, false, 5), DataError);
    assert.throws(() => padCropFlip(input, shape, 7, false, 5), DataError);
  });

  it('mirrorImages equals tf.reverse along the width', () => {
    const input = pixels(4);
    const expected = tf.tidy(() => tf.reverse(tf.tensor4d(input, shape), 2).dataSync());
    assert.deepEqual(mirrorImages(input, shape), expected);
  });

  it("shiftImages equals a window of tf.mirrorPad(..., 'reflect') (PyTorch's reflect padding), and (0, 0) is the identity", () => {
    const input = pixels(3);
    const [, h, w] = shape;
    const padded = tf.mirrorPad(tf.tensor4d(input, shape), [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect');
    // Down-right by one: the window at the padded origin; up-left by one: the window at (2, 2).
    for (const [d, at] of [[1, 0], [-1, 2]]) {
      const expected = tf.tidy(() => tf.slice(padded, [0, at, at, 0], [shape[0], h, w, shape[3]]).dataSync());
      assert.deepEqual(shiftImages(input, shape, d, d), expected, `shift ${d}`);
    }
    padded.dispose();
    assert.deepEqual(shiftImages(input, shape, 0, 0), input);
    // Reflection without repeating the border pixel: a one-row image moved down reads row 1 of a 2-row one.
    const column = Float32Array.from([10, 20]);
    assert.deepEqual(Array.from(shiftImages(column, [1, 2, 1, 1], 1, 0)), [20, 10]);
    assert.deepEqual(Array.from(shiftImages(column, [1, 2, 1, 1], -1, 0)), [20, 10]);
  });

  it('augment({crop, flip}) crops with a seed of its own and adds nothing else', () => {
    const input = pixels(3);
    const xs = tf.tensor4d(input, shape);
    const a = augment(xs, { crop: 4, flip: true }, 11);
    const b = augment(xs, { crop: 4, flip: true }, 11);
    const out = a.dataSync();
    assert.deepEqual(b.dataSync(), out);
    // Every output value is an input value or padding.
    const values = new Set(input);
    assert.ok(out.every((v) => v === 0 || values.has(v)));
    assert.ok(out.some((v) => v === 0), 'some padding shows');
    tf.dispose([xs, a, b]);
  });

  it('batches assembled from 8-bit levels (the memory source and the batch workers) crop exactly as augment does on a tensor', () => {
    const levels = Uint8Array.from(pixels(5), (v) => Math.round(v * 255));
    const [n, h, w, c] = shape;
    const options = { crop: 3, flip: true, shift: 0.1, brightness: 0.1 };
    const batch = assembleBatch(levels, new Int32Array(n), [h, w, c], 2, { augment: { options, seed: 21 } });
    const xs = tf.tensor4d(Float32Array.from(levels, (v) => v / 255), shape);
    const expected = augment(xs, options, 21);
    assert.deepEqual(batch.pixels, expected.dataSync());
    const cropOnly = assembleBatch(levels, new Int32Array(n), [h, w, c], 2, { augment: { options: { crop: 3 }, seed: 21 } });
    assert.ok(cropOnly.pixels.some((v) => v === 0) && !cropOnly.pixels.every((v, i) => v === levels[i] / 255), 'cropped, with padding showing');
    tf.dispose([xs, expected]);
  });
});
