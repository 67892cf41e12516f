// tfjs-core's fused.conv2d (what Keras's Conv2D calls) records its gradient with customGrad, which
// computes the gradients of ALL inputs eagerly, used or not: in a ResNet the stem convolution's
// input gradient (w.r.t. the image, which nothing uses) costs ~8 ms a step (oneDNN's backward data
// with 3 input channels). While the 'native' backend is active and the call is a plain NHWC one
// (linear activation, no dilation, 1-D bias or none), fused.conv2d runs the FusedConv2D kernel
// directly with a registered gradient instead: the tape then asks only for the gradients that
// lead to a variable. Same partial derivatives as tfjs-core's (conv2DBackpropInput,
// conv2DBackpropFilter, the bias gradient as the sum of dy over N, H, W; when dy comes from the
// training batch-norm gradient, that kernel has summed it already: channel_sums.ts).
//
// tfjs-layers calls fused.conv2d through tfjs-core's CommonJS exports, so the replacement goes
// there (like moments.ts); every other call goes to the original.
import { createRequire } from 'node:module';
import * as tf from '../../tf.js';
import { recordedChannelSums } from './channel_sums.js';
import { f32, type KernelArgs } from './kernel_util.js';
import { gradientIsFinal } from './tape.js';

type FusedConv2dArgs = Parameters<typeof tf.fused.conv2d>[0];
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

const isOne = (d: unknown) => d == null || d === 1 || (Array.isArray(d) && d.every((v) => v === 1));

/** True when `fused.conv2d(args)` is a case the direct kernel + registered gradient covers. */
function coversCall(args: FusedConv2dArgs, backendName: string): boolean {
  const { x, filter, bias, activation, dataFormat, dilations, preluActivationWeights } = args;
  if (tf.getBackend() !== backendName || !(x instanceof tf.Tensor) || !(filter instanceof tf.Tensor)) return false;
  if ((activation ?? 'linear') !== 'linear' || (dataFormat ?? 'NHWC') !== 'NHWC' || !isOne(dilations)) return false;
  if (preluActivationWeights != null || x.rank !== 4 || filter.rank !== 4 || x.shape[3] !== filter.shape[2]) return false;
  if (bias != null && !(bias instanceof tf.Tensor && bias.rank === 1 && bias.size === filter.shape[3])) return false;
  const backend = tf.backend() as KernelArgs['backend'];
  return [x, filter, ...(bias ? [bias as tf.Tensor] : [])].every((t) => f32(backend, t) !== null);
}

let installed = false;

export function installNativeFusedConv(backendName: string): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: tf.FusedConv2D, inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const d = dy as tf.Tensor4D;
      const strides = attrs.strides as [number, number];
      const pad = attrs.pad as Pad;
      const rounding = attrs.dimRoundingMode as string;
      return {
        x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: d, filter },
          { strides, pad, dataFormat: 'NHWC', dimRoundingMode: rounding, inputShape: x.shape }) as tf.Tensor,
        filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: d },
          { strides, pad, dataFormat: 'NHWC', dimRoundingMode: rounding, filterShape: filter.shape }) as tf.Tensor,
        // The recorded sums are not on the tape: only where this gradient is not differentiated.
        bias: () => (gradientIsFinal() ? recordedChannelSums(d) : null) ?? tf.sum(d, [0, 1, 2]),
      };
    },
  });
  const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as { fused: { conv2d: typeof tf.fused.conv2d } };
  const original = core.fused.conv2d;
  core.fused.conv2d = ((args: FusedConv2dArgs) => {
    if (!coversCall(args, backendName)) return original(args);
    const { x, filter, bias, strides, pad, dimRoundingMode } = args;
    const inputs = bias == null ? { x, filter } : { x, filter, bias };
    return tf.engine().runKernel(tf.FusedConv2D, inputs as tf.NamedTensorMap, {
      strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode, activation: 'linear',
    } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }) as typeof tf.fused.conv2d;
}
