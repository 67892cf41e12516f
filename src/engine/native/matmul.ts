// BatchMatMul and _FusedMatMul (dense layers and their gradients) on oneDNN's matmul: the cpu
// kernels multiply in JavaScript, ~0.5 s a step for a 2048 -> 1000 classifier at batch 32. Covered:
// float32, equal batch dimensions (no broadcast), bias of one value per column, linear or ReLU
// activation; the rest falls back to the cpu kernels.
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { f32, output, withFallback, type KernelArgs } from './kernel_util.js';

function matMul(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs, fused: boolean): tf.TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = inputs;
  const activation = fused ? ((attrs!.activation as string | undefined) ?? 'linear') : 'linear';
  if ((activation !== 'linear' && activation !== 'relu') || preluActivationWeights) return null;
  const as = f32(backend, a), bs = f32(backend, b), biases = bias ? f32(backend, bias) : null;
  if (!as || !bs || (bias && !biases) || a.shape.length < 2 || a.shape.length !== b.shape.length) return null;
  const transposeA = Boolean(attrs!.transposeA), transposeB = Boolean(attrs!.transposeB);
  const rank = a.shape.length;
  const batchShape = a.shape.slice(0, -2);
  if (!tf.util.arraysEqual(batchShape, b.shape.slice(0, -2))) return null;
  const M = a.shape[rank - (transposeA ? 1 : 2)], K = a.shape[rank - (transposeA ? 2 : 1)];
  const N = b.shape[rank - (transposeB ? 2 : 1)];
  if (b.shape[rank - (transposeB ? 1 : 2)] !== K || (biases && biases.length !== N) || M * N * K === 0 || tf.util.sizeFromShape(batchShape) === 0) return null;
  const dims = Int32Array.of(tf.util.sizeFromShape(batchShape), M, N, K);
  return output(backend, [...batchShape, M, N], (out) =>
    addon.matMul(as, bs, biases, out, dims, transposeA, transposeB, activation === 'relu'));
}

export function matMulKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
  return {
    BatchMatMul: withFallback('BatchMatMul', (args) => matMul(addon, args, false)),
    _FusedMatMul: withFallback('_FusedMatMul', (args) => matMul(addon, args, true)),
  };
}
