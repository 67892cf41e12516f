// Convolution kernels (NHWC, HWIO filters) on oneDNN: Conv2D, FusedConv2D (bias, ReLU),
// Conv2DBackpropInput, Conv2DBackpropFilter. NCHW and other fused activations use the cpu kernels.
// The forward pass names each filter to the addon by a key (one per tensor data, which TF.js never
// reuses) and the count of in-place optimizer updates, so that the addon reorders a filter into
// oneDNN's layout only when it is new or was updated (conv.cc, blockedFilters: a FilterCopies of conv.h).
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { f32, output, withFallback, type KernelArgs } from './kernel_util.js';
import { inPlaceUpdates } from './optimizer.js';

const filterKeys = new WeakMap<tf.DataId, number>();
let lastFilterKey = 0;

function filterKey(dataId: tf.DataId): number {
  let key = filterKeys.get(dataId);
  if (key === undefined) filterKeys.set(dataId, (key = ++lastFilterKey));
  return key;
}

/** Frees the addon's blocked copy of a filter whose data is gone (NativeBackend.disposeData). */
export function releaseFilter(addon: NativeAddon, dataId: tf.DataId): void {
  const key = filterKeys.get(dataId);
  if (key === undefined) return;
  filterKeys.delete(dataId);
  addon.releaseFilter(key);
}

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/**
 * The 17 integers conv.cc expects (see Geometry there), or null for a geometry it refuses: an empty
 * tensor, or an output size other than oneDNN's (H + pads - extent) / stride + 1 (tfjs's 'ceil'
 * rounding of explicit pads can give one more); the cpu kernel runs those.
 */
function geometry(c: tf.backend_util.Conv2DInfo): Int32Array | null {
  const { top, bottom, left, right } = c.padInfo;
  const outSize = (size: number, pads: number, k: number, dilation: number, stride: number) =>
    Math.floor((size + pads - ((k - 1) * dilation + 1)) / stride) + 1;
  const sizes = [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outChannels, c.filterHeight, c.filterWidth];
  if (sizes.some((d) => !(d > 0)) || [top, bottom, left, right].some((p) => !(p >= 0)) ||
      c.outHeight !== outSize(c.inHeight, top + bottom, c.filterHeight, c.dilationHeight, c.strideHeight) ||
      c.outWidth !== outSize(c.inWidth, left + right, c.filterWidth, c.dilationWidth, c.strideWidth)) {
    return null;
  }
  return Int32Array.from([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outChannels, c.filterHeight, c.filterWidth,
    c.outHeight, c.outWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    top, bottom, left, right,
  ]);
}

function convInfo(inShape: number[], filterShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo | null {
  if (attrs.dataFormat !== 'NHWC' && attrs.dataFormat !== undefined) return null;
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides as [number, number], (attrs.dilations ?? 1) as [number, number], attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding, false, 'channelsLast');
}

export function convKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
  const forward = (
    { inputs, backend, attrs }: KernelArgs, withBiasAndActivation: boolean,
  ): tf.TensorInfo | null => {
    const { x, filter, bias } = inputs;
    const activation = withBiasAndActivation ? (attrs!.activation as string) : 'linear';
    if (activation !== 'linear' && activation !== 'relu') return null;
    const c = convInfo(x.shape, filter.shape, attrs!);
    const g = c && geometry(c);
    const xs = f32(backend, x), fs = f32(backend, filter);
    const bs = withBiasAndActivation && bias ? f32(backend, bias) : null;
    if (!c || !g || !xs || !fs || (bias && withBiasAndActivation && (!bs || bs.length !== c.outChannels))) return null;
    return output(backend, c.outShape, (y) =>
      addon.conv2d(xs, fs, bs, y, g, activation === 'relu', filterKey(filter.dataId), inPlaceUpdates()));
  };
  return {
    Conv2D: withFallback('Conv2D', (args) => forward(args, false)),
    FusedConv2D: withFallback('FusedConv2D', (args) => forward(args, true)),
    Conv2DBackpropInput: withFallback('Conv2DBackpropInput', ({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs;
      const c = convInfo(attrs!.inputShape as number[], filter.shape, { ...attrs, dilations: 1 });
      const g = c && geometry(c);
      const dys = f32(backend, dy), fs = f32(backend, filter);
      if (!c || !g || !dys || !fs) return null;
      return output(backend, c.inShape, (dx) =>
        addon.conv2dBackpropInput(dys, fs, dx, g, filterKey(filter.dataId), inPlaceUpdates()));
    }),
    Conv2DBackpropFilter: withFallback('Conv2DBackpropFilter', ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs;
      const filterShape = attrs!.filterShape as number[];
      const c = convInfo(x.shape, filterShape, { ...attrs, dilations: 1 });
      const g = c && geometry(c);
      const xs = f32(backend, x), dys = f32(backend, dy);
      if (!c || !g || !xs || !dys) return null;
      return output(backend, filterShape, (dw) => addon.conv2dBackpropFilter(xs, dys, dw, g));
    }),
  };
}
