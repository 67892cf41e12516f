// Sum and Mean over one contiguous block of dimensions (batch-norm statistics and bias gradients:
// the leading N, H, W of NHWC; global average pooling: the middle H, W) on the addon; other axis
// sets and dtypes fall back to the cpu kernels, which transpose first.
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { f32, output, withFallback, type KernelArgs } from './kernel_util.js';

/** x viewed as [batch, reduced, kept], the reduced dimensions one contiguous block; null otherwise. */
export type ReductionLayout = { batch: number; reduced: number; kept: number };

export function reductionLayout(shape: number[], axes: number[]): ReductionLayout | null {
  const isReduced = new Set(axes);
  // Dimensions of size 1 do not change the memory order: only the others decide the layout.
  const dims = shape.map((d, i) => ({ d, kind: d === 1 ? '' : isReduced.has(i) ? 'r' : 'k' })).filter((x) => x.kind);
  const match = /^(k*)(r*)(k*)$/.exec(dims.map((x) => x.kind).join(''));
  if (!match) return null;
  const product = (from: number, to: number) => dims.slice(from, to).reduce((p, x) => p * x.d, 1);
  const [lead, mid] = [match[1].length, match[2].length];
  return { batch: product(0, lead), reduced: product(lead, lead + mid), kept: product(lead + mid, dims.length) };
}

function reduceKernel(addon: NativeAddon, mean: boolean) {
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
      addon.reduce(xs, out, layout.batch, layout.reduced, layout.kept, mean ? 1 / count : 1));
  };
}

export function reduceKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
  return { Sum: withFallback('Sum', reduceKernel(addon, false)), Mean: withFallback('Mean', reduceKernel(addon, true)) };
}
