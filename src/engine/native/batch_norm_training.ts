// Training-mode batch normalization as one operation with one gradient. tfjs-layers computes it as
// moments(x) then batchNorm4d(x, mean, variance, beta, gamma): backward, the tape then runs
// FusedBatchNorm's gradient (dx through the normalization, and the gradients of mean and variance),
// the moments' gradient (dx through the statistics) and an Add of the two: three full-size passes
// and two full-size temporaries per layer. While the 'native' backend is active, a batchNorm
// whose mean and variance are the native moments of the same x (moments.ts records them) runs the
// kernel NativeBatchNormTraining instead: y as FusedBatchNorm computes it, and a gradient that
// includes the paths through the statistics (normalization.cc's batchNormTrainingGrad, two
// passes). The statistics are not inputs of that kernel, so the tape no longer differentiates the
// moments; they still feed the layer's moving averages as before.
//
// tfjs-layers calls batchNorm4d through tfjs-core's CommonJS exports, so the replacement goes
// there (like moments.ts); every other call goes to the original.
import { createRequire } from 'node:module';
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { f32, output, type KernelArgs } from './kernel_util.js';
import { recordChannelSums } from './channel_sums.js';
import { momentsOf } from './moments.js';
import { deferredBatchNorm } from './normalization.js';

const BATCH_NORM_TRAINING = 'NativeBatchNormTraining';
const BATCH_NORM_TRAINING_GRAD = 'NativeBatchNormTrainingGrad';

type BatchNorm = (x: tf.Tensor | tf.TensorLike, mean: tf.Tensor | tf.TensorLike, variance: tf.Tensor | tf.TensorLike,
  offset?: tf.Tensor | tf.TensorLike, scale?: tf.Tensor | tf.TensorLike, varianceEpsilon?: number) => tf.Tensor;

let installed = false;

export function installNativeBatchNormTraining(addon: NativeAddon, backendName: string): void {
  if (installed) return;
  installed = true;

  // Inputs: x, scale (ones when the layer has none), offset?, and the statistics as plain arrays in
  // attrs (not tape inputs). Outputs: y, and copies of mean and variance that the gradient saves.
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAINING, backendName,
    kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
      const { x, scale, offset } = inputs;
      const ss = f32(backend, scale)!, os = offset ? f32(backend, offset)! : null;
      const mean = attrs!.mean as unknown as Float32Array, variance = attrs!.variance as unknown as Float32Array;
      const y = deferredBatchNorm(backend, addon, x, mean, variance, ss, os, attrs!.varianceEpsilon as number);
      const channels = [mean.length];
      return [y, backend.makeTensorInfo(channels, 'float32', Float32Array.from(mean)),
        backend.makeTensorInfo(channels, 'float32', Float32Array.from(variance))];
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAINING_GRAD, backendName,
    kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
      const { x, mean, variance, scale, dy } = inputs;
      const [xs, ms, vs, ss, dys] = [x, mean, variance, scale, dy].map((t) => f32(backend, t)!);
      const dscale = new Float32Array(ms.length), doffset = new Float32Array(ms.length), dxSums = new Float32Array(ms.length);
      const dx = output(backend, x.shape, (out) =>
        addon.batchNormTrainingGrad(xs, ms, vs, ss, dys, attrs!.varianceEpsilon as number, out, dscale, doffset, dxSums));
      recordChannelSums(dx.dataId, dxSums); // the bias gradient of the convolution before (channel_sums.ts)
      return [dx, backend.makeTensorInfo(mean.shape, 'float32', dscale), backend.makeTensorInfo(mean.shape, 'float32', doffset)];
    }) as unknown as tf.KernelFunc,
  });
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING, inputsToSave: ['x', 'scale'], outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (dys as tf.Tensor[])[0];
      const [x, scale, mean, variance] = saved;
      const [dx, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, { x, mean, variance, scale, dy },
        { varianceEpsilon: attrs.varianceEpsilon }) as tf.Tensor[];
      return { x: () => dx, scale: () => dscale, offset: () => doffset };
    },
  });

  const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as Record<'batchNorm2d' | 'batchNorm3d' | 'batchNorm4d', BatchNorm>;
  for (const name of ['batchNorm2d', 'batchNorm3d', 'batchNorm4d'] as const) {
    const original = core[name];
    core[name] = (x, mean, variance, offset, scale, varianceEpsilon = 0.001) => {
      const stats = mean instanceof tf.Tensor ? momentsOf(mean) : undefined;
      const perChannel = (t: unknown) => t == null || (t instanceof tf.Tensor && t.rank === 1 && t.dtype === 'float32' &&
        t.size === (x as tf.Tensor).shape[(x as tf.Tensor).rank - 1]);
      const backend = tf.backend() as KernelArgs['backend'];
      // Every array read in place must be float32 storage on this backend (else the original runs).
      const stored = (t: unknown) => t == null || f32(backend, t as tf.Tensor) !== null;
      if (tf.getBackend() !== backendName || stats === undefined || stats.x !== x || stats.variance !== variance ||
          !perChannel(scale) || !perChannel(offset) || ![x, mean, variance, scale, offset].every(stored)) {
        return original(x, mean, variance, offset, scale, varianceEpsilon);
      }
      const ones = scale == null ? tf.ones([(mean as tf.Tensor).size]) : null;
      const inputs: tf.NamedTensorMap = { x: x as tf.Tensor, scale: (scale ?? ones) as tf.Tensor };
      if (offset != null) inputs.offset = offset as tf.Tensor;
      const attrs = { varianceEpsilon, mean: f32(backend, mean as tf.Tensor), variance: f32(backend, variance as tf.Tensor) };
      const [y, meanCopy, varianceCopy] =
        tf.engine().runKernel(BATCH_NORM_TRAINING, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      tf.dispose(ones ? [meanCopy, varianceCopy, ones] : [meanCopy, varianceCopy]); // the gradient keeps its own saved copies
      return y;
    };
  }
}
