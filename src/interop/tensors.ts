// Plain weight arrays on their way between a file and a model: shape checks that refuse absurd
// declared sizes before anything is allocated, and the layout changes between frameworks (PyTorch's
// OIHW convolution kernels and [out, in] linear weights vs Keras's HWIO and [in, out]; a first
// convolution's input channels reordered from BGR to RGB). Browser-safe: no file access here.
import { UserError } from '../errors.js';

/** One weight array: float32 values in row-major order of `shape`. */
export interface WeightArray {
  shape: number[];
  values: Float32Array;
}

/**
 * A weight array not read yet: its declared shape, and how to read (and convert) its values. Importers
 * check every shape against the architecture first and read only then, so a file that declares
 * absurd sizes never gets them allocated.
 */
export interface LazyArray {
  shape: number[];
  read(): Float32Array;
}

/** A LazyArray whose values pass through `convert` (a layout change) when read. */
export function converted(source: LazyArray, shape: number[], convert: (w: WeightArray) => WeightArray): LazyArray {
  return { shape, read: () => convert({ shape: source.shape, values: source.read() }).values };
}

/** Elements any one weight array may declare: 2^28 (1 GiB of float32), 10x ResNet-152's largest layer. */
export const MAX_WEIGHT_ELEMENTS = 2 ** 28;
/** Dimensions a weight array may declare (convolution kernels have 4). */
export const MAX_WEIGHT_RANK = 8;

/**
 * The element count of a declared shape, or a UserError naming `what` when the shape is not a list of
 * non-negative integers or declares more than MAX_WEIGHT_ELEMENTS (checked before any allocation).
 */
export function elementCount(shape: unknown, what: string): number {
  if (!Array.isArray(shape) || shape.length > MAX_WEIGHT_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new UserError(`${what}: shape ${JSON.stringify(shape)?.slice(0, 80)} is not a list of at most ${MAX_WEIGHT_RANK} non-negative integers`);
  }
  let n = 1;
  for (const d of shape as number[]) {
    n *= d;
    if (n > MAX_WEIGHT_ELEMENTS) throw new UserError(`${what}: declared shape [${shape.join(', ')}] is absurdly large (over ${MAX_WEIGHT_ELEMENTS} elements)`);
  }
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * `w` with its axes reordered: output axis d is input axis axes[d] (numpy's transpose). Layout
 * changes between frameworks are all permutations; they go through this one loop.
 */
export function permute(w: WeightArray, axes: readonly number[]): WeightArray {
  const rank = w.shape.length;
  if (axes.length !== rank || !axes.every((a, d) => axes.indexOf(a) === d && a >= 0 && a < rank)) {
    throw new RangeError(`permute: axes [${axes.join(', ')}] do not reorder a rank-${rank} array`);
  }
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; s *= w.shape[d], d--) inStrides[d] = s;
  const shape = axes.map((a) => w.shape[a]);
  const strides = axes.map((a) => inStrides[a]); // input stride of each output axis
  const out = new Float32Array(w.values.length);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = w.values[src];
    // Odometer over the output's indices, innermost first, moving `src` by the input strides.
    for (let d = rank - 1; d >= 0; d--) {
      src += strides[d];
      if (++index[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return { shape, values: out };
}

/** PyTorch's convolution kernel [out, in, h, w] as Keras's [h, w, in, out]. */
export const oihwToHwio = (w: WeightArray): WeightArray => permute(w, [2, 3, 1, 0]);

/** Keras's convolution kernel [h, w, in, out] as ONNX's / PyTorch's [out, in, h, w]. */
export const hwioToOihw = (w: WeightArray): WeightArray => permute(w, [3, 2, 0, 1]);

/** A matrix transposed ([rows, cols] -> [cols, rows]): PyTorch's Linear weight [out, in] as Keras's Dense kernel [in, out]. */
export const transpose2d = (w: WeightArray): WeightArray => permute(w, [1, 0]);

/** An HWIO kernel with its input channels in reverse order (BGR-trained weights read RGB input). */
export function reverseInputChannels(w: WeightArray): WeightArray {
  const [h, k, i, o] = w.shape;
  const out = new Float32Array(w.values.length);
  for (let p = 0; p < h * k; p++)
    for (let b = 0; b < i; b++) out.set(w.values.subarray((p * i + b) * o, (p * i + b + 1) * o), (p * i + (i - 1 - b)) * o);
  return { shape: [...w.shape], values: out };
}
