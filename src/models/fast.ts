// Residual networks made for fast CIFAR-10 training (docs/training.md, "CIFAR-10 recipes"):
//   - 'resnet9': David Page's ResNet-9 ("How to train your ResNet", 2018): a 3x3 conv, three stages
//     of conv -> BN -> ReLU -> 2x2 max pool (widths 128, 256, 512), residual blocks of two
//     conv-BN-ReLU units after the first and third stage, global max pooling, a bias-free dense
//     layer and logits scaled by 1/8;
//   - 'resnet-airbench': Keller Jordan's airbench94 network (2024) made explicitly residual: a frozen
//     2x2 "whitening" convolution (24 filters, set from the training images' patch statistics before
//     training, src/models/whitening.ts), then three groups (widths 64, 256, 256) of
//     conv -> 2x2 max pool -> BN -> ReLU followed by one residual unit x + ReLU(BN(conv(x))) (airbench
//     gets the same identity path by initialising that conv to the identity), 3x3 max pooling, a
//     bias-free dense layer, logits scaled by 1/9. BN layers learn a shift but no scale. As in airbench,
//     each group's first convolution starts as an identity on its first input-width filters (PyTorch's
//     `dirac_`): those output channels copy the input channels at the centre tap.
// Both use ReLU (the native engine fuses it; airbench uses GELU, Page CELU) and PyTorch's default
// initialisation (uniform in +-1/sqrt(fan_in)), which the recipes' learning rates were tuned with.
import * as tf from '../tf.js';
import type { Initializer } from '../blocks.js';
import { UserError } from '../errors.js';
import type { ModelOptions } from './options.js';

type Sym = tf.SymbolicTensor;

/** Name of the whitening convolution, which `initWhitening` (src/models/whitening.ts) looks for. */
export const WHITEN_LAYER = 'whiten_conv';
/** Side of the whitening convolution's patches, in pixels. */
export const WHITEN_KERNEL = 2;

export interface FastNetConfig {
  /** Filters of the 3x3 stem (resnet9; the whitening stem has 2 * 2 * 2 * channels), and of each stage. */
  stemWidth: number;
  widths: [number, number, number];
  /** Stages followed by a residual unit (indices into `widths`). */
  residualStages: number[];
  /** Convolutions per residual unit: 2 (Page) or 1 (airbench). */
  unitDepth: number;
  /** A frozen whitening stem (airbench) instead of a trainable 3x3 conv-BN-ReLU (Page). */
  whiten: boolean;
  /** BN learns a scale (Page) or only a shift (airbench). */
  bnScale: boolean;
  /** Keras BN momentum (PyTorch's momentum is 1 minus this). */
  bnMomentum: number;
  bnEpsilon: number;
  /** Factor on the logits before the softmax. */
  logitScale: number;
  /** Each stage's first convolution starts as an identity on its first min(in, out) filters (airbench). */
  diracStart: boolean;
}

export const RESNET9: FastNetConfig = {
  stemWidth: 64, widths: [128, 256, 512], residualStages: [0, 2], unitDepth: 2, whiten: false,
  bnScale: true, bnMomentum: 0.9, bnEpsilon: 1e-5, logitScale: 0.125, diracStart: false,
};

export const RESNET_AIRBENCH: FastNetConfig = {
  stemWidth: 0, widths: [64, 256, 256], residualStages: [0, 1, 2], unitDepth: 1, whiten: true,
  bnScale: false, bnMomentum: 0.6, bnEpsilon: 1e-12, logitScale: 1 / 9, diracStart: true,
};

/** tfjs-layers' BatchNormalization class (not exported by name; reached through its serialization registry). */
type BatchNormalizationClass = new (args: Record<string, unknown>) => tf.layers.Layer & { gamma: { trainable: boolean } | null };
const BatchNormalization = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization[0] as unknown as BatchNormalizationClass;

/**
 * Batch normalisation that learns a shift but keeps its scale at 1 (airbench's BN, weight frozen).
 * Keras's `scale: false` would say the same, but tfjs-layers 4.22's training path reads the absent
 * scale and throws, so the scale exists here, fixed at its initial 1, and is left out of training.
 */
export class ShiftBatchNormalization extends BatchNormalization {
  static readonly className = 'ShiftBatchNormalization';

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    super.build(inputShape);
    if (this.gamma) this.gamma.trainable = false;
  }
}
tf.serialization.registerClass(ShiftBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/**
 * Re-freezes what these networks never train, after something set `layer.trainable` (which sets it
 * on all of a layer's weights; src/train/freeze.ts does between phases): the whitening stem (its
 * weights come from the data) and the scale of every ShiftBatchNormalization.
 */
export function keepFixedWeightsFrozen(layer: tf.layers.Layer): void {
  if (layer.name === WHITEN_LAYER) layer.trainable = false;
  if (layer.getClassName() === ShiftBatchNormalization.className) {
    const gamma = (layer as unknown as { gamma: { trainable: boolean } | null }).gamma;
    if (gamma) gamma.trainable = false;
  }
}

/** PyTorch's default for conv and linear weights: uniform in +-1/sqrt(fan_in) (kaiming_uniform, a = sqrt(5)). */
function torchDefault(seed: number): Initializer {
  return tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed });
}

/**
 * Sets the first min(in, out) filters of a conv layer's HWIO kernel to the identity (PyTorch's
 * `dirac_`): filter i is 1 at the centre tap of input channel i and 0 elsewhere; the other filters
 * keep their initialisation.
 */
export function diracStart(layer: tf.layers.Layer): void {
  const [kernel] = layer.getWeights();
  const [kh, kw, inputs, outputs] = kernel.shape;
  const values = kernel.dataSync().slice();
  const identity = Math.min(inputs, outputs);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const centre = y === kh >> 1 && x === kw >> 1;
      for (let i = 0; i < inputs; i++) {
        const row = ((y * kw + x) * inputs + i) * outputs;
        for (let o = 0; o < identity; o++) values[row + o] = centre && i === o ? 1 : 0;
      }
    }
  }
  const next = tf.tensor(values, kernel.shape);
  layer.setWeights([next]);
  next.dispose();
}

export function buildFastNet(config: FastNetConfig, { inputShape, classes }: ModelOptions, name: string): tf.LayersModel {
  if (!Number.isInteger(classes) || classes < 1) throw new UserError(`classes must be a positive integer, got ${classes}`);
  let seed = 0;
  const conv = (x: Sym, filters: number, layerName: string, kernel = 3, padding: 'same' | 'valid' = 'same', useBias = false) =>
    tf.layers.conv2d({ filters, kernelSize: kernel, padding, useBias, kernelInitializer: torchDefault(++seed), name: layerName }).apply(x) as Sym;
  const bn = (x: Sym, layerName: string) => {
    const args = { axis: -1, momentum: config.bnMomentum, epsilon: config.bnEpsilon, name: layerName };
    return (config.bnScale ? tf.layers.batchNormalization(args) : new ShiftBatchNormalization(args)).apply(x) as Sym;
  };
  const relu = (x: Sym, layerName: string) => tf.layers.activation({ activation: 'relu', name: layerName }).apply(x) as Sym;
  const pool = (x: Sym, size: number, layerName: string) => tf.layers.maxPooling2d({ poolSize: size, strides: size, name: layerName }).apply(x) as Sym;

  const input = tf.input({ shape: inputShape, name: 'input' });
  let x: Sym;
  if (config.whiten) {
    // Frozen: its weights come from the data (initWhitening), not from training.
    const filters = 2 * inputShape[2] * WHITEN_KERNEL ** 2; // each eigenvector and its negative
    const whiten = tf.layers.conv2d({ filters, kernelSize: WHITEN_KERNEL, padding: 'valid', useBias: true, trainable: false, name: WHITEN_LAYER });
    x = relu(whiten.apply(input) as Sym, 'whiten_relu');
  } else {
    x = relu(bn(conv(input, config.stemWidth, 'prep_conv'), 'prep_bn'), 'prep_relu');
  }
  config.widths.forEach((width, s) => {
    const stage = `stage${s + 1}`;
    // Page: conv -> BN -> ReLU -> pool; airbench: conv -> pool -> BN -> ReLU (BN and ReLU on a quarter of the pixels).
    if (config.whiten) x = relu(bn(pool(conv(x, width, `${stage}_conv`), 2, `${stage}_pool`), `${stage}_bn`), `${stage}_relu`);
    else x = pool(relu(bn(conv(x, width, `${stage}_conv`), `${stage}_bn`), `${stage}_relu`), 2, `${stage}_pool`);
    if (config.residualStages.includes(s)) {
      let y = x;
      for (let u = 1; u <= config.unitDepth; u++) y = relu(bn(conv(y, width, `${stage}_res${u}_conv`), `${stage}_res${u}_bn`), `${stage}_res${u}_relu`);
      x = tf.layers.add({ name: `${stage}_add` }).apply([x, y]) as Sym;
    }
  });
  const side = x.shape[1] as number;
  x = tf.layers.flatten({ name: 'flatten' }).apply(pool(x, side, 'head_pool')) as Sym;
  x = tf.layers.dense({ units: classes, useBias: false, kernelInitializer: torchDefault(++seed), name: 'logits' }).apply(x) as Sym;
  x = tf.layers.rescaling({ scale: config.logitScale, offset: 0, name: 'logit_scale' }).apply(x) as Sym;
  const output = tf.layers.activation({ activation: 'softmax', name: 'predictions' }).apply(x) as Sym;
  const model = tf.model({ inputs: input, outputs: output, name });
  if (config.diracStart) config.widths.forEach((_, s) => diracStart(model.getLayer(`stage${s + 1}_conv`)));
  return model;
}

export const resnet9 = (o: ModelOptions) => buildFastNet(RESNET9, o, 'resnet9');
export const resnetAirbench = (o: ModelOptions) => buildFastNet(RESNET_AIRBENCH, o, 'resnet_airbench');
