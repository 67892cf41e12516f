// Training-mode batch normalization computes its statistics with tfjs-core's moments(): Mean,
// Sub, Square and Mean forward (four full-size passes) and, backward, two Mean gradients, the
// Square and Sub gradients (a full-size Sum) and an Add: ~8 more full-size kernels per layer.
// While the 'native' backend is active, moments over all but the innermost (channel) dimension
// runs as one kernel with its own gradient kernel instead (same values and partial derivatives).
//
// tfjs-layers calls moments through tfjs-core's CommonJS exports object, so that is where the
// replacement goes (like the fused Adam, a patch that defers to the original everywhere else).
import { createRequire } from 'node:module';
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { f32, output, type KernelArgs } from './kernel_util.js';
import { differentiatedAtMostOnce } from './tape.js';

const MOMENTS = 'NativeMoments';
const MOMENTS_GRAD = 'NativeMomentsGrad';

type Moments = (x: tf.Tensor | tf.TensorLike, axis?: number | number[] | null, keepDims?: boolean) =>
  { mean: tf.Tensor; variance: tf.Tensor };

/** True when `axis` names every dimension of a rank-`rank` tensor but the last one. */
export function reducesAllButChannels(axis: number | number[] | null | undefined, rank: number): boolean {
  if (axis == null || rank < 2) return false;
  const axes = [...new Set(tf.util.parseAxisParam(axis, new Array<number>(rank).fill(1)))].sort((a, b) => a - b);
  return axes.length === rank - 1 && axes.every((a, i) => a === i);
}

/** The mean tensors computed by the native moments, with their input and variance (see momentsOf). */
const computedMoments = new WeakMap<tf.Tensor, { x: tf.Tensor; variance: tf.Tensor }>();

/**
 * Where `mean` came from the native moments: the tensor it is the mean of, and the variance computed
 * with it (batch_norm_training.ts fuses batch norm with its own statistics on that knowledge).
 */
export function momentsOf(mean: tf.Tensor): { x: tf.Tensor; variance: tf.Tensor } | undefined {
  return computedMoments.get(mean);
}

let installed = false;

export function installNativeMoments(addon: NativeAddon, backendName: string): void {
  if (installed) return;
  installed = true;
  tf.registerKernel({
    kernelName: MOMENTS, backendName,
    kernelFunc: (({ inputs, backend }: KernelArgs) => {
      const xs = f32(backend, inputs.x)!;
      const channels = inputs.x.shape[inputs.x.shape.length - 1];
      const stats = [0, 1, 2].map(() => new Float32Array(channels));
      addon.moments(xs, stats[0], stats[1], stats[2]);
      return stats.map((s) => backend.makeTensorInfo([channels], 'float32', s));
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: MOMENTS_GRAD, backendName,
    kernelFunc: (({ inputs, backend }: KernelArgs) => {
      const [xs, ms, sums, dms, dvs] = ['x', 'mean', 'sumDeviation', 'dmean', 'dvariance']
        .map((name) => f32(backend, inputs[name])!);
      return output(backend, inputs.x.shape, (dx) => addon.momentsGrad(xs, ms, sums, dms, dvs, dx));
    }) as unknown as tf.KernelFunc,
  });
  tf.registerGradient({
    kernelName: MOMENTS, inputsToSave: ['x'], outputsToSave: [true, false, true],
    gradFunc: (dys, saved) => {
      const [dmean, dvariance] = dys as tf.Tensor[];
      const [x, mean, sumDeviation] = saved;
      return { x: () => tf.engine().runKernel(MOMENTS_GRAD, { x, mean, sumDeviation, dmean, dvariance }) as tf.Tensor };
    },
  });

  const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as { moments: Moments };
  const original = core.moments;
  core.moments = (x, axis = null, keepDims = false) => {
    if (tf.getBackend() === backendName && differentiatedAtMostOnce() && x instanceof tf.Tensor && x.dtype === 'float32' && x.size > 0 && !keepDims &&
        reducesAllButChannels(axis, x.rank) && f32(tf.backend() as KernelArgs['backend'], x) !== null) {
      const [mean, variance, sumDeviation] = tf.engine().runKernel(MOMENTS, { x }, {}) as tf.Tensor[];
      sumDeviation.dispose(); // the gradient keeps its own saved copy
      computedMoments.set(mean, { x, variance });
      return { mean, variance };
    }
    return original(x, axis, keepDims);
  };
}
