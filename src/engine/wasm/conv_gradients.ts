// Gradients of a 2-D convolution (NHWC, dilation 1) on the wasm engine, built so that the
// arithmetic runs in the engine's fast XNNPACK kernels (plain matrix product, forward convolution):
//   filter gradient  dW = im2colᵀ(x) · dy, or dWᵀ = dyᵀ · x for 1x1   (one matmul)
//   data gradient    dx = dy ⋆ flip(W)ᵀ, stride 1                  (one forward convolution), or
//                    dx = col2im(dy · Wᵀ) or col2im((W · dyᵀ)ᵀ)     (any stride / padding)
// For 1x1 stride-1 unpadded convolutions both reduce to a single matmul with no re-arrangement.
import * as tf from '../../tf.js';
import {
  type ConvGeometry,
  col2imAccumulate,
  col2imTransposedAccumulate,
  flipAndSwapChannels,
  im2colTransposed,
} from './im2col.js';
import {
  type Info,
  type WasmBackend,
  allocate,
  heapView,
  matMul,
  release,
  runWasmKernel,
  transpose2d,
  withShape,
} from './heap.js';

export interface PaddedGeometry extends ConvGeometry {
  padBottom: number;
  padRight: number;
}

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** Resolves TensorFlow.js convolution attributes to sizes; only NHWC and dilation 1 exist here. */
export function convGeometry(
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
): PaddedGeometry {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(`wasm convolution gradients support only NHWC, got ${attrs.dataFormat}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    inShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: info.padInfo.bottom,
    padRight: info.padInfo.right,
  };
}

/** 1x1, stride 1, no padding: the convolution is a matrix product over [N*H*W, C]. */
function isPointwise(g: PaddedGeometry): boolean {
  return (
    g.filterHeight === 1 && g.filterWidth === 1 && g.strideHeight === 1 && g.strideWidth === 1 &&
    g.padTop === 0 && g.padLeft === 0 && g.padBottom === 0 && g.padRight === 0
  );
}

/**
 * How dW is computed: 'colsT' dW = im2colᵀ(x) · dy (any convolution), or, for 1x1 stride-1
 * unpadded ones, 'dyT' dWᵀ = dyᵀ · x, transposed back (no im2col at all).
 */
export type FilterGradientMethod = 'auto' | 'colsT' | 'dyT';

/**
 * Pixels (N*H*W) from which 'dyT' wins for 1x1 convolutions. Measured, CPU ms: 32x15x15 64->256
 * 8.2 against 13.4, 32x8x8 512->128 8.5 against 11.5; at 32x2x2 (512->2048) 11.2 against 8.1.
 */
const DY_T_MIN_PIXELS = 1024;

/** dW [FH, FW, C, K] from x [N, H, W, C] and dy [N, OH, OW, K]. */
export function filterGradient(
  backend: WasmBackend, x: Info, dy: Info, g: PaddedGeometry, method: FilterGradientMethod = 'auto',
): Info {
  const pixels = g.batch * g.outHeight * g.outWidth;
  const taps = g.filterHeight * g.filterWidth * g.inChannels;
  const filterShape = [g.filterHeight, g.filterWidth, g.inChannels, g.outChannels];
  const useDyT = method === 'dyT' || (method === 'auto' && isPointwise(g) && pixels >= DY_T_MIN_PIXELS);
  if (useDyT) {
    if (!isPointwise(g)) throw new Error("the 'dyT' filter gradient needs a 1x1, stride-1, unpadded convolution");
    const dyT = transpose2d(backend, dy, pixels, g.outChannels); // [K, pixels]
    const dwT = matMul(backend, dyT, withShape(x, [pixels, taps])); // [K, C]
    release(backend, dyT);
    const dw = transpose2d(backend, dwT, g.outChannels, taps);
    release(backend, dwT);
    return withShape(dw, filterShape);
  }
  // xT [C, N*H*W]: channel planes contiguous, so im2col copies along image rows.
  const xT = transpose2d(backend, x, g.batch * g.inHeight * g.inWidth, g.inChannels);
  let colsT = xT;
  if (!isPointwise(g)) {
    colsT = allocate(backend, [taps, pixels]);
    im2colTransposed(heapView(backend, xT), heapView(backend, colsT), g);
    release(backend, xT);
  }
  const dw = matMul(backend, colsT, withShape(dy, [pixels, g.outChannels]));
  release(backend, colsT);
  return withShape(dw, filterShape);
}

/**
 * How dx is computed: 'transposedConv' one stride-1 forward convolution with the flipped filter;
 * 'col2im' dCols = dy·Wᵀ then col2im; 'col2imT' dColsᵀ = W·dyᵀ then col2im. All three are one
 * XNNPACK call plus re-arrangements; 'auto' picks the one that moves the least data.
 */
export type DataGradientMethod = 'auto' | 'transposedConv' | 'col2im' | 'col2imT';

/** Whether dx can be one stride-1 forward convolution (its padding FH-1-pad must be >= 0). */
function transposedConvApplies(g: PaddedGeometry): boolean {
  return (
    g.strideHeight === 1 && g.strideWidth === 1 &&
    Math.max(g.padTop, g.padBottom) <= g.filterHeight - 1 &&
    Math.max(g.padLeft, g.padRight) <= g.filterWidth - 1
  );
}

function chooseDataGradientMethod(g: PaddedGeometry): Exclude<DataGradientMethod, 'auto'> {
  const pixels = g.batch * g.outHeight * g.outWidth;
  const taps = g.filterHeight * g.filterWidth * g.inChannels;
  // Elements moved besides the product itself: the filter side re-arranges and packs W (taps x K);
  // the dy side transposes and packs dy (K x pixels) and scatters taps x pixels. Deep layers with
  // small images (ResNet stages 4-5) favour the dy side.
  const filterSide = 2 * taps * g.outChannels;
  const dySide = 2 * g.outChannels * pixels + taps * pixels;
  if (dySide < filterSide) return 'col2imT';
  if (isPointwise(g)) return 'col2im'; // a single matmul, nothing to re-arrange
  return transposedConvApplies(g) ? 'transposedConv' : 'col2im';
}

/** dx [N, H, W, C] from dy [N, OH, OW, K] and the filter [FH, FW, C, K]. */
export function dataGradient(
  backend: WasmBackend,
  dy: Info,
  filter: Info,
  g: PaddedGeometry,
  method: DataGradientMethod = 'auto',
): Info {
  const chosen = method === 'auto' ? chooseDataGradientMethod(g) : method;
  const pixels = g.batch * g.outHeight * g.outWidth;
  const taps = g.filterHeight * g.filterWidth * g.inChannels;
  const inShape = [g.batch, g.inHeight, g.inWidth, g.inChannels];
  if (chosen === 'transposedConv') {
    if (!transposedConvApplies(g)) throw new Error('transposed-convolution data gradient needs stride 1');
    return dataGradientByConv(backend, dy, filter, g);
  }
  if (chosen === 'col2imT') {
    const dyT = transpose2d(backend, dy, pixels, g.outChannels); // [K, pixels]
    const dColsT = matMul(backend, withShape(filter, [taps, g.outChannels]), dyT); // [taps, pixels]
    release(backend, dyT);
    if (isPointwise(g)) {
      const dx = transpose2d(backend, dColsT, taps, pixels);
      release(backend, dColsT);
      return withShape(dx, inShape);
    }
    const dx = allocate(backend, inShape);
    const dxView = heapView(backend, dx);
    dxView.fill(0);
    col2imTransposedAccumulate(heapView(backend, dColsT), dxView, g);
    release(backend, dColsT);
    return dx;
  }
  const wT = transpose2d(backend, filter, taps, g.outChannels); // [K, taps]
  const dCols = matMul(backend, withShape(dy, [pixels, g.outChannels]), wT);
  release(backend, wT);
  if (isPointwise(g)) return withShape(dCols, inShape);
  const dx = allocate(backend, inShape);
  const dxView = heapView(backend, dx);
  dxView.fill(0);
  col2imAccumulate(heapView(backend, dCols), dxView, g);
  release(backend, dCols);
  return dx;
}

function dataGradientByConv(backend: WasmBackend, dy: Info, filter: Info, g: PaddedGeometry): Info {
  const flipped = allocate(backend, [g.filterHeight, g.filterWidth, g.outChannels, g.inChannels]);
  flipAndSwapChannels(heapView(backend, filter), heapView(backend, flipped), g);
  const fullPad = (size: number, pad: number) => size - 1 - pad;
  const dx = runWasmKernel(backend, 'Conv2D', { x: dy, filter: flipped }, {
    strides: [1, 1],
    dilations: [1, 1],
    dataFormat: 'NHWC',
    pad: [
      [0, 0],
      [fullPad(g.filterHeight, g.padTop), fullPad(g.filterHeight, g.padBottom)],
      [fullPad(g.filterWidth, g.padLeft), fullPad(g.filterWidth, g.padRight)],
      [0, 0],
    ],
  });
  release(backend, flipped);
  return dx;
}
