// Gradients computed by single native kernels instead of chains of element-wise ones, while the
// 'native' backend is active: FusedBatchNorm (13 full-size kernels in tfjs-core's gradient, one
// pass here), Mean (ones, multiply, divide there), Relu (Step + Multiply) and Square. They compute
// the same partial derivatives; for other backends, dtypes or layouts the original gradient runs.
import * as tf from '../../tf.js';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';
import { reductionLayout, type ReductionLayout } from './reduce.js';
import { f32, output, type KernelArgs } from './kernel_util.js';
import { deferredAddends } from './deferred.js';
import { gradientIsFinal } from './tape.js';

const BATCH_NORM_GRAD = 'NativeFusedBatchNormGrad';
const MEAN_GRAD = 'NativeMeanGrad';
/**
 * Gradients of one-input element-wise ops: dx = dy * f'(x), one pass of elementwise.cc's binary op
 * (Binary::RELU_GRAD: dy * step(x); Binary::SQUARE_GRAD: dy * 2x), by the forward kernel's name.
 */
const ELEMENTWISE_GRADIENTS = [
  { forward: 'Relu', kernel: 'NativeReluGrad', op: 7 },
  { forward: 'Square', kernel: 'NativeSquareGrad', op: 8 },
] as const;
/** TensorFlow.js's default variance epsilon of FusedBatchNorm. */
const DEFAULT_VARIANCE_EPSILON = 0.001;

function batchNormGradKernel(addon: NativeAddon) {
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

type GradFunc = tf.GradConfig['gradFunc'];

/** Whether a gradient computed now may use a native kernel: on this backend, and not itself differentiated (tape.ts). */
const nativeGradientNow = (backendName: string) => tf.getBackend() === backendName && gradientIsFinal();

/** tfjs-core's own gradients that these replace, by kernel name (kept for tfjsGradient). */
const replaced = new Map<string, tf.GradConfig>();

/**
 * tfjs-core's own gradient of `kernelName` as it was before the native engine replaced it, or
 * undefined (tests compare the two; re-registering it restores tfjs-core's behaviour).
 */
export function tfjsGradient(kernelName: string): tf.GradConfig | undefined {
  return replaced.get(kernelName);
}

/** Registers `config` in place of tfjs-core's gradient of its kernel, keeping that one. */
function registerReplacement(config: tf.GradConfig): void {
  if (!replaced.has(config.kernelName)) replaced.set(config.kernelName, tf.getGradient(config.kernelName)!);
  tf.registerGradient(config);
}

/**
 * Replaces the gradient of `kernelName` with `native` while the backend named `backendName` is
 * active (outside nested gradients); where `native` returns null (a case it does not cover) the
 * original gradient runs.
 */
function replaceGradient(kernelName: string, backendName: string,
  native: (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => ReturnType<GradFunc> | null): void {
  const original = tf.getGradient(kernelName)!;
  registerReplacement({
    ...original,
    gradFunc: (dy, saved, attrs) =>
      (nativeGradientNow(backendName) ? native(dy as tf.Tensor, saved, attrs) : null) ?? original.gradFunc(dy, saved, attrs),
  });
}

let installed = false;

/** Registers the native gradient kernels and routes the gradients of FusedBatchNorm, Mean, Relu and Square to them. */
export function installNativeGradients(addon: NativeAddon, backendName: string): void {
  if (installed) return;
  installed = true;
  const backend = () => tf.backend() as MathBackendCPU;

  tf.registerKernel({ kernelName: BATCH_NORM_GRAD, backendName, kernelFunc: batchNormGradKernel(addon) as unknown as tf.KernelFunc });
  replaceGradient('FusedBatchNorm', backendName, (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved;
    if (!batchNormFits(backend(), x, mean, variance, scale) || f32(backend(), dy) === null) return null;
    const epsilon = (attrs.varianceEpsilon as number | undefined) ?? DEFAULT_VARIANCE_EPSILON;
    const inputs: tf.NamedTensorMap = scale ? { x, mean, variance, scale, dy } : { x, mean, variance, dy };
    const [dx, dmean, dvariance, dscale, doffset] =
      tf.engine().runKernel(BATCH_NORM_GRAD, inputs, { varianceEpsilon: epsilon }) as tf.Tensor[];
    return { x: () => dx, mean: () => dmean, variance: () => dvariance, scale: () => dscale, offset: () => doffset };
  });

  // Mean's gradient: dy spread over the reduced positions, divided by their count (tfjs-core builds
  // a full-size tensor of ones, multiplies and divides: three full-size passes).
  tf.registerKernel({
    kernelName: MEAN_GRAD, backendName,
    kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
      const dys = f32(backend, inputs.dy)!;
      const layout = attrs!.layout as unknown as ReductionLayout;
      return output(backend, attrs!.shape as number[], (out) =>
        addon.spread(dys, out, layout.batch, layout.reduced, layout.kept, 1 / layout.reduced));
    }) as unknown as tf.KernelFunc,
  });
  replaceGradient('Mean', backendName, (dy, saved, attrs) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const layout = axes.length > 0 ? reductionLayout(x.shape, axes) : null;
    if (f32(backend(), dy) === null || layout === null || x.size === 0) return null;
    return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy }, { shape: x.shape, layout } as unknown as tf.NamedAttrMap) as tf.Tensor };
  });

  for (const { forward, kernel, op } of ELEMENTWISE_GRADIENTS) {
    tf.registerKernel({
      kernelName: kernel, backendName,
      kernelFunc: (({ inputs, backend }: KernelArgs) => {
        const xs = f32(backend, inputs.x)!;
        const sum = forward === 'Relu' ? deferredAddends(backend, inputs.dy) : null;
        if (sum) return output(backend, inputs.x.shape, (out) => addon.addReluGrad(sum[0], sum[1], xs, out));
        const dys = f32(backend, inputs.dy)!;
        return output(backend, inputs.x.shape, (out) => addon.binary(op, dys, xs, out));
      }) as unknown as tf.KernelFunc,
    });
    if (forward === 'Relu') continue; // below
    replaceGradient(forward, backendName, (dy, saved) => {
      const [x] = saved;
      if (f32(backend(), x) === null || f32(backend(), dy) === null || dy.size !== x.size) return null;
      return { x: () => tf.engine().runKernel(kernel, { dy, x }) as tf.Tensor };
    });
  }

  // Relu's gradient from its output y instead of its input x (tfjs-core saves x): y > 0 exactly
  // where x > 0, and a NaN x gives a NaN y, so dy * step(y) = dy * step(x) everywhere. Saving y
  // lets the input be a deferred output that nothing ever computes (deferred.ts).
  registerReplacement({
    kernelName: 'Relu', outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved;
      const d = dy as tf.Tensor;
      // A deferred sum as dy is not read here: the kernel reads its operands (deferred.ts).
      const dyStored = () => d.dtype === 'float32' && (deferredAddends(backend(), d) !== null || f32(backend(), d) !== null);
      if (nativeGradientNow(backendName) && f32(backend(), y) !== null && dyStored() && d.size === y.size) {
        return { x: () => tf.engine().runKernel('NativeReluGrad', { dy: d, x: y }) as tf.Tensor };
      }
      return { x: () => tf.mul(d, tf.cast(tf.step(y), 'float32')) };
    },
  });
}
