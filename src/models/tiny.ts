// 'tiny-resnet': the smallest residual network that still has every part of one (stem, a residual
// block with batch normalisation, global pooling, softmax head). It exists for fast tests and smoke
// runs of the trainer on any image size; it is not meant to be accurate.
import * as tf from '../tf.js';
import type { ModelOptions } from './options.js';
import { Preprocessing } from './preprocessing.js';

/** Filters of every convolution. */
const WIDTH = 8;

export function tinyResnet({ inputShape, classes, preprocessing }: ModelOptions): tf.LayersModel {
  let seed = 0;
  const conv = (name: string) =>
    tf.layers.conv2d({ filters: WIDTH, kernelSize: 3, padding: 'same', name, kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) });
  const input = tf.input({ shape: inputShape });
  const x = preprocessing ? (new Preprocessing(preprocessing).apply(input) as tf.SymbolicTensor) : input;
  const stem = tf.layers.activation({ activation: 'relu' }).apply(
    tf.layers.batchNormalization({ name: 'stem_bn' }).apply(conv('stem_conv').apply(x)),
  ) as tf.SymbolicTensor;
  const a = tf.layers.activation({ activation: 'relu' }).apply(tf.layers.batchNormalization({ name: 'block_bn_a' }).apply(conv('block_conv_a').apply(stem)));
  const b = tf.layers.batchNormalization({ name: 'block_bn_b' }).apply(conv('block_conv_b').apply(a)) as tf.SymbolicTensor;
  const sum = tf.layers.activation({ activation: 'relu' }).apply(tf.layers.add().apply([b, stem]));
  const pooled = tf.layers.globalAveragePooling2d({}).apply(sum);
  const out = tf.layers
    .dense({ units: classes, activation: 'softmax', name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) })
    .apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'tiny_resnet' });
}

