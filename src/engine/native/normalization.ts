// FusedBatchNorm (the batch-normalization kernel) on the addon, for statistics of one value per
// innermost channel (NHWC) or a single value; other layouts fall back to the cpu kernel. Its
// output is deferred (deferred.ts): a ReLU after it runs in the same pass.
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { deferredOutput } from './deferred.js';
import { f32, withFallback, type KernelArgs } from './kernel_util.js';

/**
 * Batch norm of x (NHWC) as a deferred output (deferred.ts), so that a following ReLU folds into
 * it. The per-channel arrays are copied: the deferred computation may run after the optimizer
 * updated scale and offset in place.
 */
export function deferredBatchNorm(backend: KernelArgs['backend'], addon: NativeAddon, x: tf.TensorInfo,
  mean: Float32Array, variance: Float32Array, scale: Float32Array | null, offset: Float32Array | null,
  epsilon: number): tf.TensorInfo {
  const xs = f32(backend, x)!;
  const [m, v, sc, of] = [mean, variance, scale, offset].map((a) => a && Float32Array.from(a));
  const normalize = (y: Float32Array, relu: boolean, residual: Float32Array | null = null) =>
    addon.batchNorm(xs, m!, v!, sc, of, y, epsilon, relu, residual);
  return deferredOutput(backend, x.shape, [x], normalize, { plusResidual: normalize });
}

/** TensorFlow.js's default variance epsilon of FusedBatchNorm. */
const DEFAULT_VARIANCE_EPSILON = 0.001;

export function normalizationKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
  return {
    FusedBatchNorm: withFallback('FusedBatchNorm', ({ inputs, backend, attrs }) => {
      const { x, mean, variance, scale, offset } = inputs;
      const xs = f32(backend, x), ms = f32(backend, mean), vs = f32(backend, variance);
      const ss = scale ? f32(backend, scale) : null, os = offset ? f32(backend, offset) : null;
      if (!xs || !ms || !vs || (scale && !ss) || (offset && !os) || x.shape.length === 0 || xs.length === 0) return null;
      const channels = x.shape[x.shape.length - 1];
      const fits = (s: Float32Array | null) => s === null || s.length === channels || s.length === 1;
      if (![ms, vs, ss, os].every(fits)) return null;
      const epsilon = (attrs?.varianceEpsilon as number | undefined) ?? DEFAULT_VARIANCE_EPSILON;
      return deferredBatchNorm(backend, addon, x, ms, vs, ss, os, epsilon);
    }),
  };
}
