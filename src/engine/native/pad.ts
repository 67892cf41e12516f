// PadV2 (constant padding, float32, any rank) and Slice (PadV2's gradient) by whole-row copies in
// the addon (copyBlock): the cpu kernels convert every element's index to coordinates and back
// (PadV2 ~30 ms for ResNet-50's 32x64x64x3 input; the Slices of ResNet-18's padding gradients took
// 1.2 s of its 1.5 s training step), and row copies driven from JavaScript still cost ResNet-20 12 ms
// a step, whose channel-padding shortcuts copy rows of 16 values.
import * as tf from '../../tf.js';
import type { NativeAddon } from './addon.js';
import { f32, output, withFallback } from './kernel_util.js';

export function padKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
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
        addon.copyBlock(out, Int32Array.from(outShape), xs, Int32Array.from(shape), Int32Array.from(paddings.map((p) => p[0])), true);
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
      return output(backend, size, (out) =>
        addon.copyBlock(xs, Int32Array.from(x.shape), out, Int32Array.from(size), Int32Array.from(begin), false));
    }),
  };
}
