// PadV2 (constant padding, float32, any rank) and Slice (PadV2's gradient) by whole-row copies:
// the cpu kernels convert every element's index to coordinates and back (PadV2 ~30 ms for
// ResNet-50's 32x64x64x3 input, ~1 ms here; the Slices of ResNet-18's padding gradients took
// 1.2 s of its 1.5 s training step).
import * as tf from '../../tf.js';
import { f32, output, withFallback } from './kernel_util.js';

/**
 * Visits the rows of a block of shape `block` that lies at offsets `begin` inside an array of shape
 * `outer`: for each row, its offset in the outer array, its offset in the block (both flat, in
 * elements) and its length. Trailing dimensions the block spans whole are contiguous in both
 * arrays, so they are merged into the rows (NHWC images padded in H and W: rows of W * C values).
 * PadV2 copies the block (x) into the outer array (its output); Slice copies it out.
 */
function forEachBlockRow(outer: number[], block: number[], begin: number[],
  visit: (outerOffset: number, blockOffset: number, length: number) => void): void {
  let last = block.length - 1; // the innermost dimension where the block does not span the outer array
  while (last > 0 && block[last] === outer[last]) last--;
  const inner = tf.util.sizeFromShape(block.slice(last + 1));
  const rowLength = block[last] * inner;
  const outerStrides = tf.util.computeStrides(outer).concat(1);
  const rows = rowLength === 0 ? 0 : tf.util.sizeFromShape(block) / rowLength;
  const index = new Array<number>(last).fill(0); // the current row's coordinates in the block
  for (let r = 0; r < rows; r++) {
    let offset = begin[last] * inner;
    for (let d = 0; d < last; d++) offset += (index[d] + begin[d]) * outerStrides[d];
    visit(offset, r * rowLength, rowLength);
    for (let d = last - 1; d >= 0; d--) {
      if (++index[d] < block[d]) break;
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
        forEachBlockRow(outShape, shape, paddings.map((p) => p[0]), (at, from, length) =>
          out.set(xs.subarray(from, from + length), at));
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
      return output(backend, size, (out) => forEachBlockRow(x.shape, size, begin, (from, at, length) =>
        out.set(xs.subarray(from, from + length), at)));
    }),
  };
}
