// Gradients computed by single native kernels instead of chains of element-wise ones, while the
// 'native' backend is active: FusedBatchNorm (13 full-size kernels in tfjs-core's gradient, one
// pass here) and Relu (Step + Multiply there, one pass here). They compute the same partial
// derivatives; Mean's and Square's gradients likewise in one pass; for other backends, dtypes or layouts the original gradient runs.
import * as tf from '../../tf.js';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';
import type { ElementwiseAddon } from './elementwise.js';
import { reductionLayout, type ReduceAddon, type ReductionLayout } from './reduce.js';
import { f32, output, type KernelArgs } from './kernel_util.js';

export interface GradientAddon {
  batchNormGrad(x: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array | null,
    dy: Float32Array, epsilon: number, dx: Float32Array, dmean: Float32Array, dvariance: Float32Array,
    dscale: Float32Array, doffset: Float32Array): void;
}

const BATCH_NORM_GRAD = 'NativeFusedBatchNormGrad';
const RELU_GRAD = 'NativeReluGrad';
const MEAN_GRAD = 'NativeMeanGrad';
/** elementwise.cc's Binary::RELU_GRAD and Binary::SQUARE_GRAD. */
const RELU_GRAD_OP = 7;
const SQUARE_GRAD_OP = 8;
const SQUARE_GRAD = 'NativeSquareGrad';
/** TensorFlow.js's default variance epsilon of FusedBatchNorm. */
const DEFAULT_VARIANCE_EPSILON = 0.001;

function batchNormGradKernel(addon: GradientAddon) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const { x, mean, variance, scale, dy } = inputs;
    const [xs, ms, vs, dys] = [x, mean, variance, dy].map((t) => f32(backend, t)!);
    const ss = scale ? f32(backend, scale) : null;
    const perChannel = () => new Float32Array(ms.length);
    const [dmean, dvariance, dscale, doffset] = [perChannel(), perChannel(), perChannel(), perChannel()];
    const dx = output(backend, x.shape, (out) => addon.batchNormGrad(xs, ms, vs, ss, dys,
      attrs!.varianceEpsilon as number, out, dmean, dvariance, dscale, doffset));
    return [dx, ...[dmean, dvariance, dscale, doffset].map((v) => backend.makeTensorInfo(mean.shape, 'float32', v))];
  };
}

/** The conditions under which the native batch-norm gradient applies (else tfjs-core's runs). */
function batchNormFits(backend: MathBackendCPU, x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, scale?: tf.Tensor): boolean {
  const channels = x.shape[x.shape.length - 1];
  const fits = (t: tf.Tensor) => t.rank === 1 && t.size === channels && f32(backend, t) !== null;
  return x.rank > 0 && f32(backend, x) !== null && fits(mean) && fits(variance) && (scale == null || fits(scale));
}

let installed = false;

/** Registers the native gradient kernels and routes the gradients of FusedBatchNorm and Relu to them. */
export function installNativeGradients(addon: NativeAddon, backendName: string): void {
  if (installed) return;
  installed = true;
  const g = addon as NativeAddon & GradientAddon & ElementwiseAddon & ReduceAddon;
  tf.registerKernel({ kernelName: BATCH_NORM_GRAD, backendName, kernelFunc: batchNormGradKernel(g) as unknown as tf.KernelFunc });
  tf.registerKernel({
    kernelName: RELU_GRAD, backendName,
    kernelFunc: (({ inputs, backend }: KernelArgs) => {
      const dys = f32(backend, inputs.dy)!, xs = f32(backend, inputs.x)!;
      return output(backend, inputs.x.shape, (out) => g.binary(RELU_GRAD_OP, dys, xs, out));
    }) as unknown as tf.KernelFunc,
  });

  // Mean's gradient: dy spread over the reduced positions, divided by their count (tfjs-core builds
  // a full-size tensor of ones, multiplies and divides: three full-size passes).
  tf.registerKernel({
    kernelName: MEAN_GRAD, backendName,
    kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
      const dys = f32(backend, inputs.dy)!;
      const layout = attrs!.layout as unknown as ReductionLayout;
      return output(backend, attrs!.shape as number[], (out) =>
        g.spread(dys, out, layout.batch, layout.reduced, layout.kept, 1 / layout.reduced));
    }) as unknown as tf.KernelFunc,
  });

  tf.registerKernel({
    kernelName: SQUARE_GRAD, backendName,
    kernelFunc: (({ inputs, backend }: KernelArgs) => {
      const dys = f32(backend, inputs.dy)!, xs = f32(backend, inputs.x)!;
      return output(backend, inputs.x.shape, (out) => g.binary(SQUARE_GRAD_OP, dys, xs, out));
    }) as unknown as tf.KernelFunc,
  });

  const active = () => tf.getBackend() === backendName;
  const backend = () => tf.backend() as MathBackendCPU;

  const batchNorm = tf.getGradient('FusedBatchNorm')!;
  tf.registerGradient({
    ...batchNorm,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      const dyT = dy as tf.Tensor;
      if (!active() || !batchNormFits(backend(), x, mean, variance, scale) || f32(backend(), dyT) === null) {
        return batchNorm.gradFunc(dy, saved, attrs);
      }
      const epsilon = (attrs.varianceEpsilon as number | undefined) ?? DEFAULT_VARIANCE_EPSILON;
      const inputs: tf.NamedTensorMap = scale ? { x, mean, variance, scale, dy: dyT } : { x, mean, variance, dy: dyT };
      const [dx, dmean, dvariance, dscale, doffset] =
        tf.engine().runKernel(BATCH_NORM_GRAD, inputs, { varianceEpsilon: epsilon }) as tf.Tensor[];
      return { x: () => dx, mean: () => dmean, variance: () => dvariance, scale: () => dscale, offset: () => doffset };
    },
  });

  const mean = tf.getGradient('Mean')!;
  tf.registerGradient({
    ...mean,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const dyT = dy as tf.Tensor;
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
      const layout = axes.length > 0 ? reductionLayout(x.shape, axes) : null;
      if (!active() || f32(backend(), dyT) === null || layout === null || x.size === 0) return mean.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy: dyT }, { shape: x.shape, layout } as unknown as tf.NamedAttrMap) as tf.Tensor };
    },
  });

  const square = tf.getGradient('Square')!;
  tf.registerGradient({
    ...square,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const dyT = dy as tf.Tensor;
      if (!active() || f32(backend(), x) === null || f32(backend(), dyT) === null || dyT.size !== x.size) {
        return square.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(SQUARE_GRAD, { dy: dyT, x }) as tf.Tensor };
    },
  });

  const relu = tf.getGradient('Relu')!;
  tf.registerGradient({
    ...relu,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const dyT = dy as tf.Tensor;
      if (!active() || f32(backend(), x) === null || f32(backend(), dyT) === null || dyT.size !== x.size) {
        return relu.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dyT, x }) as tf.Tensor };
    },
  });
}
