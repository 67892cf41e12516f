// Element-wise kernels on the addon (OpenMP): binary ops whose operands are full-size or broadcast
// along trailing dimensions (scalars, per-channel vectors in NHWC) or along the last ones (one value
// per row, e.g. a [batch, 1] normalizer of [batch, classes] probabilities), unary ops, Softmax over
// the last axis, and Tile. Other dtypes and broadcasts fall back to the cpu kernels. An Add of two
// same-shape tensors is deferred, and Relu of a deferred output runs in one pass with the kernel
// that made it (deferred.ts).
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { deferredOutput, isDeferred, residualKernel, withRelu } from './deferred.js';
import { f32, output, withFallback, type KernelArgs } from './kernel_util.js';

/** Op codes of elementwise.cc (enum Binary / enum Unary). */
const BINARY = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 } as const;
/** elementwise.cc's Binary::ADD_RELU: ReLU(a + b). */
const ADD_RELU = 9;
const UNARY = {
  Relu: 0, Sqrt: 1, Rsqrt: 2, Square: 3, Neg: 4, Exp: 5, Log: 6, Abs: 7, Step: 8, Reciprocal: 9, Relu6: 10, Sigmoid: 11,
} as const;

/**
 * True when `shape` is the output's shape or broadcasts to it along trailing dimensions only
 * (leading dimensions of 1, then the output's own trailing dimensions): the addon then reads it
 * with a period of its length.
 */
export function broadcastsAlongTrailing(shape: number[], outShape: number[]): boolean {
  const padded = [...new Array(outShape.length - shape.length).fill(1), ...shape];
  let i = 0;
  while (i < padded.length && padded[i] === 1) i++;
  for (; i < padded.length; i++) if (padded[i] !== outShape[i]) return false;
  return true;
}

/**
 * How many consecutive outputs share each value of `shape` when it broadcasts to `outShape` along
 * its last dimensions only (the output's leading dimensions, then 1s): 0 when it does not.
 */
export function rowRepeat(shape: number[], outShape: number[]): number {
  const padded = [...new Array(outShape.length - shape.length).fill(1), ...shape];
  let k = padded.length;
  while (k > 0 && padded[k - 1] === 1) k--;
  for (let i = 0; i < k; i++) if (padded[i] !== outShape[i]) return 0;
  return tf.util.sizeFromShape(outShape.slice(k));
}

/**
 * a + b where one of them is a deferred batch norm (deferred.ts, residualKernel): a deferred sum
 * computed in the batch norm's own pass, without reading that operand (which would compute it).
 * Null when neither is, or the shapes differ.
 */
function residualAdd(addon: NativeAddon, backend: KernelArgs['backend'], a: tf.TensorInfo,
  b: tf.TensorInfo): tf.TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !tf.util.arraysEqual(a.shape, b.shape) || tf.util.sizeFromShape(a.shape) === 0) {
    return null;
  }
  const [normalized, other] = residualKernel(backend, a) ? [a, b] : residualKernel(backend, b) ? [b, a] : [null, null];
  // The other operand's storage must be float32, checked without computing it when it is deferred too.
  if (!normalized || !other || !(isDeferred(backend, other.dataId) || f32(backend, other) !== null)) return null;
  return deferredOutput(backend, a.shape, [a, b], (out, relu) => {
    // Still deferred when computed: one pass. Otherwise (something read it meanwhile), a plain Add.
    const plus = residualKernel(backend, normalized);
    if (plus) plus(out, relu, f32(backend, other)!);
    else addon.binary(relu ? ADD_RELU : BINARY.Add, f32(backend, a)!, f32(backend, b)!, out);
  });
}

function binaryKernel(addon: NativeAddon, op: number) {
  return ({ inputs, backend }: KernelArgs): tf.TensorInfo | null => {
    const { a, b } = inputs;
    const fused = op === BINARY.Add ? residualAdd(addon, backend, a, b) : null;
    if (fused) return fused;
    const as = f32(backend, a), bs = f32(backend, b);
    if (!as || !bs) return null;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = tf.util.sizeFromShape(outShape);
    const full = (s: Float32Array) => s.length === size;
    if (op === BINARY.Add && full(as) && full(bs) && size > 0) {
      return deferredOutput(backend, outShape, [a, b], (out, relu) => addon.binary(relu ? ADD_RELU : op, as, bs, out),
        { addends: [as, bs] });
    }
    if (full(as) !== full(bs) && size > 0) {
      const repeat = rowRepeat((full(as) ? b : a).shape, outShape);
      if (repeat > 1 && !broadcastsAlongTrailing((full(as) ? b : a).shape, outShape)) {
        return output(backend, outShape, (out) => addon.binaryRows(op, as, bs, out, repeat));
      }
    }
    if (!broadcastsAlongTrailing(a.shape, outShape) || !broadcastsAlongTrailing(b.shape, outShape)) return null;
    // Both broadcast (e.g. [C] with [1, C] into [2, C]): only handled when one is a scalar.
    if (!full(as) && !full(bs) && as.length !== 1 && bs.length !== 1) return null;
    return output(backend, outShape, (out) => addon.binary(op, as, bs, out));
  };
}

function unaryKernel(addon: NativeAddon, op: number) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null => {
    const fused = op === UNARY.Relu ? withRelu(backend, inputs.x) : null;
    if (fused) return output(backend, inputs.x.shape, fused);
    const xs = f32(backend, inputs.x);
    if (!xs) return null;
    const alpha = op === UNARY.Step ? ((attrs?.alpha as number | undefined) ?? 0) : 0;
    return output(backend, inputs.x.shape, (out) => addon.unary(op, xs, out, alpha));
  };
}

export function elementwiseKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
  const kernels: Record<string, tf.KernelFunc> = {};
  for (const [name, op] of Object.entries(BINARY)) kernels[name] = withFallback(name, binaryKernel(addon, op));
  for (const [name, op] of Object.entries(UNARY)) kernels[name] = withFallback(name, unaryKernel(addon, op));
  kernels.Softmax = withFallback('Softmax', ({ inputs, backend, attrs }) => {
    const xs = f32(backend, inputs.logits);
    const rank = inputs.logits.shape.length;
    const dim = attrs!.dim as number;
    if (!xs || rank === 0 || xs.length === 0 || (dim !== -1 && dim !== rank - 1)) return null;
    return output(backend, inputs.logits.shape, (out) => addon.softmax(xs, out, inputs.logits.shape[rank - 1]));
  });
  kernels.Tile = withFallback('Tile', ({ inputs, backend, attrs }) => {
    const xs = f32(backend, inputs.x);
    const reps = attrs!.reps as number[];
    if (!xs || inputs.x.shape.length === 0 || reps.length !== inputs.x.shape.length) return null;
    const outShape = inputs.x.shape.map((d, i) => d * reps[i]);
    return output(backend, outShape, (out) =>
      addon.tile(xs, out, Int32Array.from(inputs.x.shape), Int32Array.from(reps)));
  });
  return kernels;
}
