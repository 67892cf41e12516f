// Forward convolution (FusedConv2D) for filters the engine has not seen before. The engine's
// convolution builds an XNNPACK operator per filter tensor and caches it: fast for inference, but
// training makes a new filter tensor every step, and re-packing the weights costs ~16 ns per weight
// (3x3x512x512: 40 ms of a 56 ms call, measured), about half the forward time of a ResNet-50 step.
// For layers with many weights and few output pixels (ResNet stages 4-5) the product is computed
// instead as yᵀ[K, pixels] = Wᵀ[K, taps] · im2colᵀ(x)[taps, pixels], where XNNPACK packs only the
// small im2col matrix. Everything else, and any filter seen a second time (inference), goes to the
// engine, whose cached operator is then the fastest route.
import * as tf from '../../tf.js';
import { type PaddedGeometry, convGeometry, isPointwise } from './conv_gradients.js';
import { type Info, type WasmBackend, allocate, heapView, matMul, release, transpose2d } from './heap.js';
import { im2colTransposed, transposeInto } from './im2col.js';

/** Estimated nanoseconds per element of each data movement (measured on the wasm engine, single thread). */
const NS_CONV_WEIGHT_PACKING = 16;
const NS_MATMUL_PACKING = 4;
const NS_JS_REARRANGE = 2;

/** Whether the matmul route moves less data than re-packing the filter in a new XNNPACK convolution. */
export function matmulForwardPays(g: PaddedGeometry): boolean {
  const pixels = g.batch * g.outHeight * g.outWidth;
  const taps = g.filterHeight * g.filterWidth * g.inChannels;
  const engineExtra = NS_CONV_WEIGHT_PACKING * taps * g.outChannels;
  const rearranged = taps * g.outChannels + g.batch * g.inHeight * g.inWidth * g.inChannels + g.outChannels * pixels +
    (isPointwise(g) ? 0 : taps * pixels);
  const matmulExtra = NS_JS_REARRANGE * rearranged + NS_MATMUL_PACKING * taps * pixels;
  return matmulExtra < engineExtra;
}

/** y = relu?(conv2d(x, filter) + bias) by one matmul in the transposed orientation. */
export function forwardByMatmul(
  backend: WasmBackend, x: Info, filter: Info, bias: Info | undefined, relu: boolean, g: PaddedGeometry,
): Info {
  const pixels = g.batch * g.outHeight * g.outWidth;
  const taps = g.filterHeight * g.filterWidth * g.inChannels;
  const K = g.outChannels;
  let colsT = transpose2d(backend, x, g.batch * g.inHeight * g.inWidth, g.inChannels); // xᵀ [C, N*H*W]
  if (!isPointwise(g)) {
    const xT = colsT;
    colsT = allocate(backend, [taps, pixels]);
    im2colTransposed(heapView(backend, xT), heapView(backend, colsT), g);
    release(backend, xT);
  }
  const wT = transpose2d(backend, filter, taps, K); // [K, taps]
  const yT = matMul(backend, wT, colsT); // [K, pixels]
  release(backend, wT, colsT);
  const y = allocate(backend, [g.batch, g.outHeight, g.outWidth, K]);
  const out = heapView(backend, y);
  transposeInto(heapView(backend, yT), 0, out, 0, K, pixels);
  release(backend, yT);
  if (bias !== undefined || relu) {
    const b = bias === undefined ? new Float32Array(K) : heapView(backend, bias);
    for (let i = 0, m = 0; m < pixels; m++) {
      for (let k = 0; k < K; k++, i++) {
        const v = out[i] + b[k];
        out[i] = relu && v < 0 ? 0 : v;
      }
    }
  }
  return y;
}

type FusedInputs = { x: Info; filter: Info; bias?: Info; preluActivationWeights?: Info };

/** FusedConv2D for the wasm engine: the matmul route for new filters where it pays, else the engine's. */
export function makeFusedConv2DKernel(engine: tf.KernelFunc | undefined): tf.KernelFunc {
  // Filters already used once: a second use means inference with fixed weights, where the engine's
  // cached operator wins. Training replaces every filter tensor at each optimizer step.
  const seenFilters = new WeakSet<object>();
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as FusedInputs;
    const a = args.attrs as unknown as tf.FusedConv2DAttrs;
    const firstUse = !seenFilters.has(filter.dataId);
    seenFilters.add(filter.dataId);
    const dilations = a.dilations ?? 1;
    const supported =
      firstUse && x.dtype === 'float32' && (a.dataFormat ?? 'NHWC') === 'NHWC' &&
      (a.activation === 'linear' || a.activation === 'relu') && preluActivationWeights == null &&
      (Array.isArray(dilations) ? dilations.every((d) => d === 1) : dilations === 1) &&
      (bias == null || (bias.shape.length === 1 && bias.shape[0] === filter.shape[3]));
    if (supported) {
      const g = convGeometry(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], a);
      if (matmulForwardPays(g)) return forwardByMatmul(args.backend as WasmBackend, x, filter, bias ?? undefined, a.activation === 'relu', g);
    }
    if (engine === undefined) throw new Error('wasm FusedConv2D: the engine kernel is missing');
    return engine(args);
  };
}
