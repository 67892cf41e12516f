// 2-D max / average pooling (NHWC) and their gradients on the addon; same rules as the cpu backend.
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { f32, output, withFallback, type KernelArgs } from './kernel_util.js';

/** The 12 integers pool.cc expects, or null for cases it does not cover (dilation). */
function poolGeometry(xShape: number[], attrs: tf.NamedAttrMap): { info: tf.backend_util.Conv2DInfo; geometry: Int32Array } | null {
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number], attrs.filterSize as [number, number],
    attrs.strides as [number, number], 1, attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || tf.util.sizeFromShape(info.outShape) === 0 ||
      tf.util.sizeFromShape(info.inShape) === 0) {
    return null;
  }
  const geometry = Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
  ]);
  return { info, geometry };
}

export function poolKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
  const forward = (run: (x: Float32Array, y: Float32Array, g: Int32Array) => void) =>
    ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null => {
      const xs = f32(backend, inputs.x);
      const pool = xs && inputs.x.shape.length === 4 ? poolGeometry(inputs.x.shape, attrs!) : null;
      if (!xs || !pool) return null;
      return output(backend, pool.info.outShape, (y) => run(xs, y, pool.geometry));
    };
  return {
    MaxPool: withFallback('MaxPool', forward((x, y, g) => addon.maxPool(x, y, g))),
    AvgPool: withFallback('AvgPool', forward((x, y, g) => addon.avgPool(x, y, g))),
    MaxPoolGrad: withFallback('MaxPoolGrad', ({ inputs, backend, attrs }) => {
      const dys = f32(backend, inputs.dy), xs = f32(backend, inputs.input);
      const pool = poolGeometry(inputs.input.shape, attrs!);
      if (!dys || !xs || !pool) return null;
      return output(backend, inputs.input.shape, (dx) => addon.maxPoolGrad(dys, xs, dx, pool.geometry));
    }),
    AvgPoolGrad: withFallback('AvgPoolGrad', ({ inputs, backend, attrs }) => {
      const dys = f32(backend, inputs.dy);
      const pool = poolGeometry(inputs.input.shape, attrs!);
      if (!dys || !pool) return null;
      return output(backend, inputs.input.shape, (dx) => addon.avgPoolGrad(dys, dx, pool.geometry));
    }),
  };
}
