// Native convolution kernels vs the cpu backend: forward (plain and fused bias+ReLU) and both
// gradients, over kernel sizes 1/3/7, strides 1/2, 'same'/'valid' padding, odd sizes and
// ResNet-50's channel counts.
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { loadAddon } from '../../../src/engine/native/addon.js';
import { assertMatchesCpu, randomValues, skip, type Tolerance } from './helpers.js';

/**
 * float32 sums of the same products in another order. Values of x and the filter lie in [-1, 1);
 * the loss sum(y^2) makes dy = 2y; the longest of the three passes' sums (KH*KW*C terms forward,
 * KH*KW*O for the input gradient, N*OH*OW for the filter gradient) sets the magnitude a
 * cancelling result's error derives from: an absolute floor of 2e-6 per term of it (measured
 * worst: 1.5e-4 where this allows 2e-3, the 256 -> 1024 case), and 1e-5 of each value.
 */
function convTolerance(c: { n: number; h: number; w: number; c: number; k: number; o: number; stride: number }): Tolerance {
  const outPixels = c.n * Math.ceil(c.h / c.stride) * Math.ceil(c.w / c.stride);
  return { abs: 2e-6 * Math.max(c.k * c.k * c.c, c.k * c.k * c.o, outPixels), rel: 1e-5 };
}

type Padding = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
const cases: Array<{ n: number; h: number; w: number; c: number; k: number; o: number; stride: number; pad: Padding }> = [
  { n: 2, h: 7, w: 9, c: 3, k: 1, o: 5, stride: 1, pad: 'valid' },
  { n: 1, h: 9, w: 9, c: 4, k: 1, o: 8, stride: 2, pad: 'valid' },
  { n: 2, h: 8, w: 7, c: 5, k: 3, o: 6, stride: 1, pad: 'same' },
  { n: 3, h: 11, w: 9, c: 3, k: 3, o: 4, stride: 2, pad: 'same' },
  { n: 1, h: 10, w: 10, c: 6, k: 3, o: 7, stride: 2, pad: 'valid' },
  { n: 2, h: 15, w: 13, c: 3, k: 7, o: 8, stride: 2, pad: 'valid' },
  { n: 1, h: 12, w: 12, c: 2, k: 7, o: 3, stride: 1, pad: 'same' },
  // ResNet-50's channel counts: oneDNN picks blocked weight layouts (16/32/48/64-channel blocks,
  // some padded) that conv.cc's own HWIO <-> blocked copies must get right.
  { n: 2, h: 6, w: 6, c: 64, k: 3, o: 64, stride: 1, pad: 'same' },
  { n: 2, h: 8, w: 8, c: 64, k: 1, o: 256, stride: 2, pad: 'valid' },
  { n: 2, h: 4, w: 4, c: 256, k: 1, o: 128, stride: 1, pad: 'valid' },
  { n: 1, h: 5, w: 5, c: 24, k: 3, o: 40, stride: 2, pad: 'same' },
  { n: 2, h: 16, w: 16, c: 3, k: 7, o: 64, stride: 2, pad: 'valid' },
  // 1024 outputs: oneDNN's forward weights in 48-output blocks, the last one padded.
  { n: 2, h: 2, w: 2, c: 256, k: 1, o: 1024, stride: 1, pad: 'valid' },
  // Uneven explicit padding (im2col's zeros on one side only), and a 1x1 with padding.
  { n: 2, h: 6, w: 5, c: 4, k: 3, o: 5, stride: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { n: 1, h: 4, w: 4, c: 3, k: 1, o: 2, stride: 1, pad: [[0, 0], [1, 0], [0, 1], [0, 0]] },
];

// Each case runs both ways the addon computes float32 convolutions (conv_gemm.cc): oneDNN's
// convolution primitives and matrix products over the HWIO filter (im2col / col2im).
const algorithms = ['primitive', 'gemm'] as const;
async function withAlgorithm(algorithm: 'auto' | 'gemm' | 'primitive', body: () => Promise<void>): Promise<void> {
  loadAddon()!.setConvAlgorithm(algorithm);
  try {
    await body();
  } finally {
    loadAddon()!.setConvAlgorithm('auto');
  }
}

for (const [i, c] of cases.entries()) for (const algorithm of algorithms) {
  const label = `${c.k}x${c.k} stride ${c.stride} ${JSON.stringify(c.pad)} on ${c.n}x${c.h}x${c.w}x${c.c} -> ${c.o}, ${algorithm}`;
  const x = () => tf.tensor4d(randomValues(c.n * c.h * c.w * c.c, 10 + i), [c.n, c.h, c.w, c.c]);
  const filter = () => tf.tensor4d(randomValues(c.k * c.k * c.c * c.o, 20 + i), [c.k, c.k, c.c, c.o]);
  const bias = () => tf.tensor1d(randomValues(c.o, 30 + i));

  test(`Conv2D forward and gradients match cpu: ${label}`, { skip }, () => withAlgorithm(algorithm, async () => {
    await assertMatchesCpu(() => {
      const xs = x(), fs = filter();
      const loss = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.square(tf.conv2d(a, b, c.stride, c.pad)));
      const [dx, df] = tf.grads(loss as (...t: tf.Tensor[]) => tf.Tensor)([xs, fs]);
      return [tf.conv2d(xs, fs, c.stride, c.pad), dx, df];
    }, convTolerance(c), label);
  }));

  test(`FusedConv2D (bias, ReLU) forward and gradients match cpu: ${label}`, { skip }, () => withAlgorithm(algorithm, async () => {
    await assertMatchesCpu(() => {
      const conv = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.fused.conv2d({
        x: a as tf.Tensor4D, filter: b as tf.Tensor4D, bias: d, strides: c.stride, pad: c.pad, activation: 'relu',
      });
      const [dx, df, db] = tf.grads((a, b, d) => tf.sum(tf.square(conv(a, b, d))))([x(), filter(), bias()]);
      return [conv(x(), filter(), bias()), dx, df, db];
    }, convTolerance(c), label);
  }));
}

for (const algorithm of algorithms) {
  test(`Conv2D with dilation 2 matches cpu, ${algorithm}`, { skip }, () => withAlgorithm(algorithm, async () => {
    await assertMatchesCpu(() => tf.conv2d(tf.tensor4d(randomValues(2 * 9 * 9 * 3, 5), [2, 9, 9, 3]),
      tf.tensor4d(randomValues(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]), 1, 'same', 'NHWC', 2), { abs: 1e-5, rel: 1e-5 }, 'dilated');
  }));
}
