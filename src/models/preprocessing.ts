// The input normalisation that pretrained weights expect, as the model's first layer: every model of
// this project takes NHWC pixels scaled to [0, 1] (RGB), and an imported model carries whatever else
// its weights were trained on (Keras's caffe-style BGR mean, [-1, 1], ImageNet mean/std) inside
// itself, as y[..., c] = x[..., c] * scale[c] + offset[c]. Channel order is not this layer's business:
// weights trained on BGR input get their first convolution's input channels permuted at import, so
// the layer stays per-channel in RGB order. Presets are named after Keras's `preprocess_input` modes.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';

export interface PreprocessingConfig {
  /** Per-channel factor applied to [0, 1] pixels (one per input channel). */
  scale: number[];
  /** Per-channel term added after scaling. */
  offset: number[];
  /** The preset it came from ('caffe', 'tf', 'torch'), recorded for people and the web page. */
  preset?: string;
  name?: string;
}

/** keras.applications' caffe mode: pixels in 0..255, per-channel ImageNet mean subtracted (listed here in RGB order). */
const CAFFE_MEAN_RGB = [123.68, 116.779, 103.939];
/** torchvision's and timm's ImageNet statistics of [0, 1] RGB pixels. */
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
/** 8-bit pixel range: [0, 1] pixels times this give Keras's 0..255 inputs. */
const PIXEL_MAX = 255;

/** The presets: what each family of pretrained weights expects, written for [0, 1] RGB input. */
export const PREPROCESSING_PRESETS: Record<string, { scale: number[]; offset: number[]; description: string }> = {
  caffe: {
    scale: [PIXEL_MAX, PIXEL_MAX, PIXEL_MAX],
    offset: CAFFE_MEAN_RGB.map((m) => -m),
    description: 'keras.applications ResNet v1 and the classic Keras ResNet-50: 0..255, ImageNet mean subtracted (BGR weights: conv1 permuted to RGB)',
  },
  tf: { scale: [2, 2, 2], offset: [-1, -1, -1], description: 'keras.applications ResNetV2: [-1, 1]' },
  torch: {
    scale: IMAGENET_STD.map((s) => 1 / s),
    offset: IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]),
    description: 'torchvision / timm: (x - ImageNet mean) / ImageNet std',
  },
};

/** The layer config of a preset name (undefined for 'none'). */
export function preprocessingPreset(name: string): PreprocessingConfig | undefined {
  if (name === 'none') return undefined;
  const preset = PREPROCESSING_PRESETS[name];
  if (!preset) throw new UserError(`unknown preprocessing '${name}' (known: none, ${Object.keys(PREPROCESSING_PRESETS).join(', ')})`);
  return { scale: [...preset.scale], offset: [...preset.offset], preset: name, name: 'preprocessing' };
}

export class Preprocessing extends tf.layers.Layer {
  static readonly className = 'Preprocessing';
  readonly scale: number[];
  readonly offset: number[];
  readonly preset: string | undefined;

  constructor(args: PreprocessingConfig) {
    super({ name: args.name ?? 'preprocessing' });
    const finite = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!finite(args.scale) || !finite(args.offset) || args.scale.length !== args.offset.length) {
      throw new Error('Preprocessing: scale and offset must be equally long lists of finite numbers');
    }
    this.scale = [...args.scale];
    this.offset = [...args.offset];
    this.preset = args.preset;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels != null && channels !== this.scale.length) {
      throw new Error(`Preprocessing: input has ${channels} channels, the layer normalises ${this.scale.length}`);
    }
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.add(tf.mul(x, tf.tensor1d(this.scale)), tf.tensor1d(this.offset));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset, ...(this.preset ? { preset: this.preset } : {}) };
  }
}
tf.serialization.registerClass(Preprocessing);
