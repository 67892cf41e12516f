// PadV2 (constant padding, float32, any rank) and Slice (PadV2's gradient) by whole-row copies:
// the cpu kernels convert every element's index to coordinates and back (PadV2 ~30 ms for
// ResNet-50's 32x64x64x3 input, ~1 ms here; the Slices of ResNet-18's padding gradients took
// 1.2 s of its 1.5 s training step).
import * as tf from '../../tf.js';
import { f32, output, withFallback } from './kernel_util.js';

/**
 * Copies `x` (shape `shape`) into `out` (already filled with the pad value) at offsets `before`.
 * Trailing dimensions without padding are contiguous in both arrays: they are merged into the
 * copied rows (NHWC images padded in H and W: rows of W * C values, not of C).
 */
export function padInto(x: Float32Array, shape: number[], before: number[], out: Float32Array, outShape: number[]): void {
  let last = shape.length - 1; // the innermost dimension that gets padding
  while (last > 0 && outShape[last] === shape[last]) last--;
  const inner = tf.util.sizeFromShape(shape.slice(last + 1));
  const rowLength = shape[last] * inner;
  const outStrides = tf.util.computeStrides(outShape).concat(1);
  const rows = rowLength === 0 ? 0 : x.length / rowLength;
  const index = new Array<number>(last).fill(0); // coordinates of the current row
  for (let r = 0; r < rows; r++) {
    let offset = before[last] * inner;
    for (let d = 0; d < last; d++) offset += (index[d] + before[d]) * outStrides[d];
    out.set(x.subarray(r * rowLength, (r + 1) * rowLength), offset);
    for (let d = last - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

/**
 * Copies the block of `x` (shape `shape`) that starts at `begin` and has shape `size` into `out`.
 * Trailing dimensions taken whole are contiguous in both arrays and merged into the copied rows.
 */
export function sliceInto(x: Float32Array, shape: number[], begin: number[], size: number[], out: Float32Array): void {
  let last = shape.length - 1; // the innermost dimension that is cut
  while (last > 0 && size[last] === shape[last]) last--;
  const inner = tf.util.sizeFromShape(shape.slice(last + 1));
  const rowLength = size[last] * inner;
  const strides = tf.util.computeStrides(shape).concat(1);
  const rows = rowLength === 0 ? 0 : out.length / rowLength;
  const index = new Array<number>(last).fill(0); // coordinates of the current row in `size`
  for (let r = 0; r < rows; r++) {
    let offset = begin[last] * inner;
    for (let d = 0; d < last; d++) offset += (index[d] + begin[d]) * strides[d];
    out.set(x.subarray(offset, offset + rowLength), r * rowLength);
    for (let d = last - 1; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
}

export function padKernels(): Record<string, tf.KernelFunc> {
  return {
    PadV2: withFallback('PadV2', ({ inputs, backend, attrs }) => {
      const xs = f32(backend, inputs.x);
      const paddings = attrs!.paddings as Array<[number, number]>;
      const value = (attrs!.constantValue as number | undefined) ?? 0;
      const shape = inputs.x.shape;
      if (!xs || shape.length === 0 || paddings.some(([b, a]) => b < 0 || a < 0)) return null;
      const outShape = shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
      return output(backend, outShape, (out) => {
        out.fill(value);
        padInto(xs, shape, paddings.map((p) => p[0]), out, outShape);
      });
    }),
    // A contiguous block is left to the cpu kernel, which returns a view of x (no copy).
    Slice: withFallback('Slice', ({ inputs, backend, attrs }) => {
      const xs = f32(backend, inputs.x);
      const x = inputs.x as tf.Tensor;
      if (!xs || x.rank === 0) return null;
      const [begin, size] = tf.slice_util.parseSliceParams(x, attrs!.begin as number[], attrs!.size as number[]);
      if (tf.slice_util.isSliceContinous(x.shape, begin, size)) return null;
      tf.slice_util.assertParamsValid(x, begin, size);
      return output(backend, size, (out) => sliceInto(xs, x.shape, begin, size, out));
    }),
  };
}
