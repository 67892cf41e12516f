// bfloat16 mixed precision of the native convolutions: each convolution must equal a float32
// convolution of the operands rounded to bfloat16 (round to nearest even), computed independently
// by the cpu backend, with float32 accumulation; float32 must come back exactly when switched back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { nativePrecision, setNativePrecision } from '../../../src/engine/native/backend.js';
import { loadAddon } from '../../../src/engine/native/addon.js';
import { assertClose, randomValues, runOn, skip, skipBf16, type Tolerance } from './helpers.js';

/**
 * Same products, float32 sums in another order (oneDNN's bf16 kernels accumulate in float32), of
 * `terms` products of values in [-1, 1): 1e-5 of each value, 1e-7 per term for results that
 * cancel (measured worst: 9e-6 for 576 terms, where this allows 5.8e-5).
 */
const accumulationTolerance = (terms: number): Tolerance => ({ abs: 1e-7 * terms, rel: 1e-5 });

/** The bfloat16 value nearest to each float (ties to even), widened back to float32. */
function roundToBfloat16(values: Float32Array): Float32Array {
  const out = Float32Array.from(values);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const lsb = (bits[i] >>> 16) & 1;
    bits[i] = ((bits[i] + 0x7fff + lsb) >>> 16) << 16;
  }
  return out;
}


test('roundToBfloat16 (the test reference) rounds to nearest, ties to even', () => {
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
  assert.deepEqual([...roundToBfloat16(Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -9, -2.75]))],
    [1, 1 + 2 ** -6, 1, -2.75]);
});

const cases = [
  { n: 2, h: 6, w: 6, c: 64, k: 3, o: 64, stride: 1, pad: 'same' as const },
  { n: 2, h: 8, w: 8, c: 64, k: 1, o: 256, stride: 2, pad: 'valid' as const },
  { n: 2, h: 16, w: 16, c: 3, k: 7, o: 64, stride: 2, pad: 'valid' as const },
  { n: 2, h: 2, w: 2, c: 256, k: 1, o: 1024, stride: 1, pad: 'valid' as const },
  { n: 1, h: 7, w: 5, c: 5, k: 3, o: 6, stride: 2, pad: 'same' as const },
];

for (const [i, c] of cases.entries()) {
  const label = `${c.k}x${c.k} stride ${c.stride} ${c.pad} on ${c.n}x${c.h}x${c.w}x${c.c} -> ${c.o}`;
  const outH = c.pad === 'same' ? Math.ceil(c.h / c.stride) : Math.floor((c.h - c.k) / c.stride) + 1;
  const outW = c.pad === 'same' ? Math.ceil(c.w / c.stride) : Math.floor((c.w - c.k) / c.stride) + 1;
  const xValues = randomValues(c.n * c.h * c.w * c.c, 40 + i);
  const wValues = randomValues(c.k * c.k * c.c * c.o, 50 + i);
  const dyValues = randomValues(c.n * outH * outW * c.o, 60 + i);
  // The longest sum of the three passes: KH*KW*C (y), KH*KW*O (dx), N*OH*OW (dw).
  const tol = accumulationTolerance(Math.max(c.k * c.k * c.c, c.k * c.k * c.o, c.n * outH * outW));
  // y = conv(x, w); the gradients of sum(y * dy) are dx = conv2dBackpropInput(dy, w) and
  // dw = conv2dBackpropFilter(x, dy): every convolution sees exactly two of x, w, dy.
  const convAndGradients = (xv: Float32Array, wv: Float32Array, dyv: Float32Array) => () => {
    const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.c]), w = tf.tensor4d(wv, [c.k, c.k, c.c, c.o]);
    const dy = tf.tensor4d(dyv, [c.n, outH, outW, c.o]);
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
    const [dx, dw] = tf.grads((a, b) => tf.sum(tf.mul(conv(a, b), dy)))([x, w]);
    return [conv(x, w), dx, dw];
  };

  // Both ways the addon computes convolutions (conv_gemm.cc): primitives and matmuls.
  for (const algorithm of ['primitive', 'gemm'] as const) {
    test(`bfloat16 convolution and gradients = float32 ones of bf16-rounded operands: ${label}, ${algorithm}`, { skip: skipBf16 }, async () => {
      const expected = await runOn('cpu',
        convAndGradients(roundToBfloat16(xValues), roundToBfloat16(wValues), roundToBfloat16(dyValues)));
      const unrounded = await runOn('cpu', convAndGradients(xValues, wValues, dyValues));
      loadAddon()!.setConvAlgorithm(algorithm);
      try {
        assert.equal(setNativePrecision('bfloat16'), true);
        assert.equal(nativePrecision(), 'bfloat16');
        const actual = await runOn('native', convAndGradients(xValues, wValues, dyValues));
        ['y', 'dx', 'dw'].forEach((name, k) => {
          assertClose(actual[k], expected[k], tol, `${label} ${name}`);
          // ...and not the float32 result: the rounding did happen (bf16 keeps 8 significant bits).
          assert.throws(() => assertClose(actual[k], unrounded[k], tol, name));
        });
        setNativePrecision('float32');
        const back = await runOn('native', convAndGradients(xValues, wValues, dyValues));
        ['y', 'dx', 'dw'].forEach((name, k) => assertClose(back[k], unrounded[k], tol, `float32 again: ${name}`));
      } finally {
        setNativePrecision('float32');
        loadAddon()!.setConvAlgorithm('auto');
      }
    });
  }
}

test('bfloat16: FusedConv2D with bias and ReLU rounds only the multiplied operands', { skip: skipBf16 }, async () => {
  const x = randomValues(2 * 5 * 5 * 16, 70), w = randomValues(3 * 3 * 16 * 32, 71), b = randomValues(32, 72);
  const fused = (xv: Float32Array, wv: Float32Array) => () => tf.fused.conv2d({
    x: tf.tensor4d(xv, [2, 5, 5, 16]), filter: tf.tensor4d(wv, [3, 3, 16, 32]), bias: tf.tensor1d(b),
    strides: 1, pad: 'same', activation: 'relu',
  });
  const expected = await runOn('cpu', fused(roundToBfloat16(x), roundToBfloat16(w)));
  assert.equal(setNativePrecision('bfloat16'), true);
  try {
    const actual = await runOn('native', fused(x, w));
    assertClose(actual[0], expected[0], accumulationTolerance(3 * 3 * 16), 'fused bf16');
  } finally {
    setNativePrecision('float32');
  }
});

test('setNativePrecision rejects an unknown precision', { skip }, () => {
  assert.throws(() => setNativePrecision('float16' as 'float32'), /expected 'float32' or 'bfloat16'/);
  assert.equal(nativePrecision(), 'float32');
});
