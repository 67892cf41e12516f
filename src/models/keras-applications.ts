// keras.applications' ResNets (ResNet50/101/152 and ResNet50V2/101V2/152V2) on the family's generic
// builder, layer for layer and name for name, so that their weights load by layer name:
//   - v1 ('keras-resnet50', ...): the stride on each stage's first 1x1 convolution (the original
//     paper, not torchvision's v1.5), biases on every convolution, batch norm epsilon 1.001e-5;
//   - v2 ('keras-resnet50v2', ...): pre-activation blocks with the stride on the 3x3 of each stage's
//     last block (stage 5 keeps its size), a 1x1 max pool as that block's shortcut, biases on the
//     convolutions no batch norm directly follows.
// Both keep Keras's batch-norm momentum 0.99 (what fine-tuning them in Keras would use).
import type * as tf from '../tf.js';
import { FAMILY, buildResNet, type ResNetOptions } from './resnet.js';
import type { ModelOptions } from './options.js';

/** keras.applications' batch-norm epsilon. */
const KERAS_BN_EPSILON = 1.001e-5;
/** Keras's default batch-norm momentum. */
const KERAS_BN_MOMENTUM = 0.99;

type KerasOptions = Pick<ResNetOptions, 'strideOn' | 'strideBlock' | 'convBias' | 'preActivation'>;
const V1: KerasOptions = { strideOn: '1x1', strideBlock: 'first', convBias: 'all', preActivation: false };
const V2: KerasOptions = { strideOn: '3x3', strideBlock: 'last', convBias: 'unnormalized', preActivation: true };

/** Registry name -> [family architecture, variant, Keras's model name]. */
export const KERAS_APPLICATIONS: Record<string, { depth: 50 | 101 | 152; version: 1 | 2; kerasName: string }> = {
  'keras-resnet50': { depth: 50, version: 1, kerasName: 'resnet50' },
  'keras-resnet101': { depth: 101, version: 1, kerasName: 'resnet101' },
  'keras-resnet152': { depth: 152, version: 1, kerasName: 'resnet152' },
  'keras-resnet50v2': { depth: 50, version: 2, kerasName: 'resnet50v2' },
  'keras-resnet101v2': { depth: 101, version: 2, kerasName: 'resnet101v2' },
  'keras-resnet152v2': { depth: 152, version: 2, kerasName: 'resnet152v2' },
};

/** Builds one of keras.applications' ResNets by registry name (softmax head named 'predictions', like Keras's). */
export function buildKerasApplication(name: string, options: ModelOptions & Partial<ResNetOptions>): tf.LayersModel {
  const entry = KERAS_APPLICATIONS[name];
  if (!entry) throw new Error(`not a keras.applications ResNet: ${name}`);
  return buildResNet(FAMILY[`resnet${entry.depth}`], {
    kernelInitializer: 'glorot', // Keras's default
    ...options,
    ...(entry.version === 1 ? V1 : V2),
    batchNormEpsilon: KERAS_BN_EPSILON,
    batchNormMomentum: KERAS_BN_MOMENTUM,
    name: options.name ?? name,
  });
}
