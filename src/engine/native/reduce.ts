// Sum and Mean over a leading or trailing block of dimensions (batch-norm statistics and bias
// gradients in NHWC) on the addon; other axis sets and dtypes fall back to the cpu kernels, which
// transpose first.
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { f32, output, withFallback, type KernelArgs } from './kernel_util.js';

export interface ReduceAddon {
  reduce(x: Float32Array, out: Float32Array, outer: number, inner: number, leading: boolean, scale: number): void;
}

/** x viewed as [outer, inner] with the reduced dimensions leading or trailing; null when neither. */
export function reductionLayout(shape: number[], axes: number[]): { outer: number; inner: number; leading: boolean } | null {
  const reduced = new Set(axes);
  // Dimensions of size 1 do not change the memory order: only the others decide the layout.
  const kinds = shape.map((d, i) => (d === 1 ? '' : reduced.has(i) ? 'r' : 'k')).join('');
  const reducedSize = axes.reduce((p, a) => p * shape[a], 1);
  const keptSize = tf.util.sizeFromShape(shape) / Math.max(reducedSize, 1);
  if (/^r*k*$/.test(kinds)) return { outer: reducedSize, inner: keptSize, leading: true };
  if (/^k*r*$/.test(kinds)) return { outer: keptSize, inner: reducedSize, leading: false };
  return null;
}

function reduceKernel(addon: NativeAddon & ReduceAddon, mean: boolean) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null => {
    const { x } = inputs;
    const xs = f32(backend, x);
    if (!xs || xs.length === 0) return null;
    const axes = tf.util.parseAxisParam(attrs!.axis as number | number[], x.shape);
    const layout = axes.length > 0 ? reductionLayout(x.shape, axes) : null;
    if (!layout) return null;
    let [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    if (attrs!.keepDims) outShape = tf.backend_util.expandShapeToKeepDim(outShape, axes);
    const count = tf.util.sizeFromShape(axes.map((a) => x.shape[a]));
    return output(backend, outShape, (out) =>
      addon.reduce(xs, out, layout.outer, layout.inner, layout.leading, mean ? 1 / count : 1));
  };
}

export function reduceKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
  const r = addon as NativeAddon & ReduceAddon;
  return { Sum: withFallback('Sum', reduceKernel(r, false)), Mean: withFallback('Mean', reduceKernel(r, true)) };
}
