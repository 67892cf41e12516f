// The course's ResNet-50 (../shared/spec/resnet.md): 177 layers, 23,600,006 parameters for a
// 64×64×3 input and 6 classes. Convolutions keep their biases, as in the course's Keras code.
import * as tf from '../tf.js';
import { convolutionalBlock, defaultKernelInitializer, identityBlock, type Filters, type KernelInitializer } from '../blocks.js';
import { Preprocessing, type PreprocessingConfig } from './preprocessing.js';

export interface ResNet50Options {
  /** [height, width, channels]; default [64, 64, 3] (the SIGNS photos). */
  inputShape?: [number, number, number];
  /** Number of classes of the softmax head; default 6. */
  classes?: number;
  /** A per-channel affine first layer (imported weights' normalisation); default none. */
  preprocessing?: PreprocessingConfig;
  /** 'zeros': kernels start at zero instead of Glorot draws (weights about to be loaded); default 'random'. */
  initialWeights?: 'random' | 'zeros';
}

/** One stage: a convolutional block 'a' then identity blocks 'b', 'c', ... */
function stage(x: tf.SymbolicTensor, filters: Filters, stageNumber: number, identityBlocks: number, s: number, kernelInitializer?: KernelInitializer): tf.SymbolicTensor {
  let y = convolutionalBlock(x, 3, filters, { stage: stageNumber, block: 'a', s, kernelInitializer });
  for (let i = 1; i <= identityBlocks; i++) {
    y = identityBlock(y, 3, filters, { stage: stageNumber, block: String.fromCharCode(97 + i), kernelInitializer });
  }
  return y;
}

export function resnet50({ inputShape = [64, 64, 3], classes = 6, preprocessing, initialWeights = 'random' }: ResNet50Options = {}): tf.LayersModel {
  const init = () => (initialWeights === 'zeros' ? tf.initializers.zeros() : defaultKernelInitializer());
  const input = tf.input({ shape: inputShape, name: 'input_1' });
  let x = preprocessing ? (new Preprocessing(preprocessing).apply(input) as tf.SymbolicTensor) : input;
  x = tf.layers.zeroPadding2d({ padding: [3, 3], name: 'zero_padding2d' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1', kernelInitializer: init() })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ axis: 3, momentum: 0.99, epsilon: 1e-3, name: 'bn_conv1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'relu_conv1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'max_pooling2d' }).apply(x) as tf.SymbolicTensor;

  const blockInit = initialWeights === 'zeros' ? 'zeros' : undefined; // undefined: the blocks' Glorot default
  x = stage(x, [64, 64, 256], 2, 2, 1, blockInit);
  x = stage(x, [128, 128, 512], 3, 3, 2, blockInit);
  x = stage(x, [256, 256, 1024], 4, 5, 2, blockInit);
  x = stage(x, [512, 512, 2048], 5, 2, 2, blockInit);

  x = tf.layers.averagePooling2d({ poolSize: 2, name: 'avg_pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ units: classes, activation: 'softmax', name: `fc${classes}`, kernelInitializer: init() })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'ResNet50' });
}
