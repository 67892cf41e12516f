// Augmentation: shape, range, determinism, identity, and the geometric warp checked against
// TensorFlow.js's own tf.image.transform on the reference cpu backend.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '../../src/tf.js';
import { augment, DataError, mulberry32 } from '../../src/data/index.js';
import { applyAugmentParams, drawAugmentParams, inverseAffine, type AugmentParams } from '../../src/data/augment.js';

const shape: [number, number, number, number] = [3, 5, 6, 2];
/** Uniform pixels in [lo, hi), seeded. */
function pixels(length: number, seed: number, lo = 0, hi = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => lo + (hi - lo) * random());
}
const size = shape.reduce((a, b) => a * b);
const all = { shift: 0.2, rotation: 15, brightness: 0.1, contrast: 0.2, flip: true };
const still = { flip: false, angle: 0, shiftX: 0, shiftY: 0, brightnessDelta: 0, contrastFactor: 1 };

describe('augment', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('keeps shape and [0, 1] range, leaves the input alone, is deterministic for a seed', () => {
    const input = pixels(size, 1);
    const xs = tf.tensor4d(input, shape);
    const before = tf.memory().numTensors;
    const a = augment(xs, all, 123);
    const b = augment(xs, all, 123);
    const c = augment(xs, all, 124);
    assert.equal(tf.memory().numTensors, before + 3, 'one new tensor per call');
    assert.deepEqual(a.shape, shape);
    const values = a.dataSync();
    assert.ok(values.every((v) => v >= 0 && v <= 1));
    assert.deepEqual(b.dataSync(), values);
    assert.notDeepEqual(c.dataSync(), values);
    assert.notDeepEqual(values, input, 'something changed');
    assert.deepEqual(xs.dataSync(), input);
    tf.dispose([xs, a, b, c]);
  });

  it('is the identity when every option is 0 or off', () => {
    const input = pixels(size, 2);
    const xs = tf.tensor4d(input, shape);
    for (const options of [{}, { shift: 0, rotation: 0, brightness: 0, contrast: 0, flip: false }]) {
      const out = augment(xs, options, 9);
      assert.deepEqual(out.dataSync(), input);
      out.dispose();
    }
    xs.dispose();
  });

  it('warps like tf.image.transform (bilinear, nearest fill) on the cpu backend, within 1e-5', () => {
    const input = pixels(size, 3);
    const params = drawAugmentParams(shape[0], shape[1], shape[2], { shift: 0.3, rotation: 30, flip: true }, 77);
    assert.ok(params.some((p) => p.flip) && params.some((p) => !p.flip), 'both flipped and unflipped images drawn');
    const ours = applyAugmentParams(input, shape, params);
    // One image per call: tfjs-backend-cpu 4.22's Transform returns after the first image of a batch.
    const length = size / shape[0];
    const reference = new Float32Array(size);
    params.forEach((p, i) =>
      tf.tidy(() => {
        const image = tf.tensor4d(input.subarray(i * length, (i + 1) * length), [1, ...shape.slice(1)] as [number, number, number, number]);
        const transform = tf.tensor2d([inverseAffine(p, shape[1], shape[2])], [1, 8]);
        reference.set(tf.image.transform(image, transform, 'bilinear', 'nearest').dataSync(), i * length);
      }),
    );
    let worst = 0;
    ours.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference[i]))));
    assert.ok(worst < 1e-5, `max difference ${worst}`);
  });

  it('hand-computed warps: +1 pixel shift fills from the edge, flip mirrors, 90 degrees rotates', () => {
    const row: [number, number, number, number] = [1, 1, 3, 1];
    const line = Float32Array.from([0.1, 0.5, 0.9]);
    const shifted = applyAugmentParams(line, row, [{ ...still, shiftX: 1 }]);
    assert.deepEqual(shifted, Float32Array.from([0.1, 0.1, 0.5]));
    assert.deepEqual(applyAugmentParams(line, row, [{ ...still, flip: true }]), Float32Array.from([0.9, 0.5, 0.1]));
    // 2x2 [[a, b], [c, d]] rotated by +90 degrees (y down): output(x, y) = input(y, 1 - x).
    const square = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    const turned = applyAugmentParams(square, [1, 2, 2, 1], [{ ...still, angle: Math.PI / 2 }]);
    const expected = [0.3, 0.1, 0.4, 0.2];
    turned.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `pixel ${i}: ${v} vs ${expected[i]}`));
  });

  it('brightness adds one delta per image; contrast scales deviations from each channel mean', () => {
    const input = pixels(size, 4, 0.3, 0.7); // far enough from 0 and 1 that nothing is clipped
    const length = size / shape[0];
    const bright = applyAugmentParams(input, shape, drawAugmentParams(shape[0], shape[1], shape[2], { brightness: 0.1 }, 5));
    for (let i = 0; i < shape[0]; i++) {
      const delta = bright[i * length] - input[i * length];
      assert.ok(Math.abs(delta) <= 0.1 && delta !== 0);
      for (let j = 0; j < length; j++) assert.ok(Math.abs(bright[i * length + j] - input[i * length + j] - delta) < 1e-6);
    }
    const params: AugmentParams[] = drawAugmentParams(shape[0], shape[1], shape[2], { contrast: 0.2 }, 6);
    const contrasted = applyAugmentParams(input, shape, params);
    const channels = shape[3];
    for (let i = 0; i < shape[0]; i++) {
      const factor = params[i].contrastFactor;
      assert.ok(factor >= 0.8 && factor <= 1.2 && factor !== 1);
      for (let c = 0; c < channels; c++) {
        let mean = 0;
        for (let j = c; j < length; j += channels) mean += input[i * length + j] / (length / channels);
        for (let j = c; j < length; j += channels) {
          const want = mean + factor * (input[i * length + j] - mean);
          assert.ok(Math.abs(contrasted[i * length + j] - want) < 1e-6);
        }
      }
    }
  });

  it('clips to [0, 1] and rejects out-of-range options with a DataError', () => {
    const xs = tf.tensor4d(pixels(size, 5), shape);
    const out = augment(xs, { brightness: 1 }, 3);
    const values = out.dataSync();
    assert.ok(values.every((v) => v >= 0 && v <= 1));
    assert.ok(values.some((v) => v === 0 || v === 1), 'a delta of up to 1 clips some pixels');
    tf.dispose([xs, out]);
    for (const bad of [{ shift: 1 }, { rotation: -1 }, { brightness: 1.5 }, { contrast: -0.1 }]) {
      assert.throws(() => augmentSafe(bad), DataError);
    }
  });
});

function augmentSafe(options: object): void {
  tf.tidy(() => {
    augment(tf.zeros([1, 2, 2, 1]), options, 0);
  });
}
