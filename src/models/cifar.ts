// Shortcut option A of He et al. (2015), used by their CIFAR-10 ResNets: where a block halves the
// spatial size and widens the channels, the shortcut takes every `stride`-th pixel of its input and
// pads the new channels with zeros. It has no parameters, so a residual network with option A has
// exactly the parameters of its plain twin. Keras has no such layer, hence this small custom one.
import * as tf from '../tf.js';

export interface SubsampleZeroPadArgs {
  /** Spatial step of the subsampling, in pixels (1: none). */
  stride: number;
  /** Output channels; the input's channels are kept and the rest are zeros, split evenly before/after. */
  channels: number;
  name?: string;
}

export class SubsampleZeroPad extends tf.layers.Layer {
  static readonly className = 'SubsampleZeroPad';
  private readonly stride: number;
  private readonly channels: number;

  constructor(args: SubsampleZeroPadArgs) {
    super({ name: args.name });
    if (!Number.isInteger(args.stride) || args.stride < 1) throw new Error(`stride must be a positive integer, got ${args.stride}`);
    this.stride = args.stride;
    this.channels = args.channels;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (c != null && c > this.channels) throw new Error(`SubsampleZeroPad: input has ${c} channels, more than the ${this.channels} wanted`);
    const sub = (d: number | null) => (d == null ? null : Math.ceil(d / this.stride));
    return [n, sub(h), sub(w), this.channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      // A 1x1 average pool with stride s keeps pixels (0, 0), (0, s), ...; unlike stridedSlice it has a gradient.
      const sub = this.stride === 1 ? x : tf.avgPool(x, 1, this.stride, 'valid');
      const extra = this.channels - x.shape[3];
      const before = Math.floor(extra / 2);
      return extra === 0 ? sub.clone() : tf.pad(sub, [[0, 0], [0, 0], [0, 0], [before, extra - before]]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), stride: this.stride, channels: this.channels };
  }
}
tf.serialization.registerClass(SubsampleZeroPad);
