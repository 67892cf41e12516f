// The two building blocks of the course's ResNet-50 (../shared/spec/resnet.md), in the Keras layer
// vocabulary. Each is a plain function: give it a symbolic tensor while building a model and it returns a
// symbolic tensor; give it a concrete tf.Tensor and it runs eagerly and returns a tensor.
import * as tf from './tf.js';

/** TF.js's Initializer class (not exported by name from tfjs-layers). */
export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;
/** A Keras-style initializer: an instance (e.g. `tf.initializers.ones()`) or an identifier string. */
export type KernelInitializer = Initializer | 'glorotUniform' | 'heNormal' | 'heUniform' | 'ones' | 'zeros';

export interface BlockOptions {
  /** Stage number, used in layer names (`res{stage}{block}_branch2a`). */
  stage: number;
  /** Block letter within the stage ('a', 'b', ...), used in layer names. */
  block: string;
  /** Convolution kernel initializer; default Glorot uniform with seed 0, as in the course. */
  kernelInitializer?: KernelInitializer;
  /**
   * BatchNormalization mode. Eager calls: true = batch statistics, false/undefined = moving statistics.
   * Symbolic calls: left undefined, the model decides (fit trains, predict infers).
   */
  training?: boolean;
}

export interface ConvolutionalBlockOptions extends BlockOptions {
  /** Stride of the first 1x1 convolution and of the shortcut projection; default 2. */
  s?: number;
}

export type Filters = [number, number, number];
type AnyTensor = tf.SymbolicTensor | tf.Tensor;

/** Glorot uniform with seed 0: the course's (and Keras's) default kernel initializer. */
export function defaultKernelInitializer(): Initializer {
  return tf.initializers.glorotUniform({ seed: 0 });
}

/**
 * Applies layers in sequence to a symbolic or concrete tensor. Eager calls create throw-away layers,
 * so their weights are disposed once the output exists (the output does not depend on them any more).
 */
class BlockBuilder {
  private readonly eagerLayers: tf.layers.Layer[] = [];
  constructor(
    private readonly eager: boolean,
    private readonly training: boolean | undefined,
    private readonly kernelInitializer: KernelInitializer | undefined,
  ) {}

  apply<T extends AnyTensor | AnyTensor[]>(layer: tf.layers.Layer, x: T): AnyTensor {
    if (this.eager) this.eagerLayers.push(layer);
    const kwargs = this.training === undefined ? {} : { training: this.training };
    return layer.apply(x as tf.Tensor | tf.SymbolicTensor, kwargs) as AnyTensor;
  }

  conv(x: AnyTensor, filters: number, kernelSize: number, strides: number, padding: 'same' | 'valid', name: string): AnyTensor {
    const kernelInitializer = this.kernelInitializer ?? defaultKernelInitializer();
    return this.apply(tf.layers.conv2d({ filters, kernelSize, strides, padding, name, kernelInitializer }), x);
  }

  /** BatchNormalization over the channels axis with Keras's defaults, spelled out. */
  batchNorm(x: AnyTensor, name: string): AnyTensor {
    return this.apply(tf.layers.batchNormalization({ axis: 3, momentum: 0.99, epsilon: 1e-3, name }), x);
  }

  relu(x: AnyTensor, name: string): AnyTensor {
    return this.apply(tf.layers.activation({ activation: 'relu', name }), x);
  }

  add(mainPath: AnyTensor, shortcut: AnyTensor, name: string): AnyTensor {
    return this.apply(tf.layers.add({ name }), [mainPath, shortcut]);
  }

  /** Frees the throw-away layers of an eager call (their weights); the output no longer needs them. */
  disposeEagerLayers(): void {
    for (const layer of this.eagerLayers) layer.dispose();
  }
}

/**
 * Runs a block body. Symbolic input: builds layers into the graph. Concrete input: runs eagerly inside
 * tf.tidy (intermediate tensors freed), then frees the weights of the layers it created.
 */
function runBlock<T extends AnyTensor>(x: T, options: BlockOptions, body: (b: BlockBuilder) => AnyTensor): T {
  const eager = x instanceof tf.Tensor;
  const b = new BlockBuilder(eager, options.training, options.kernelInitializer);
  if (!eager) return body(b) as T;
  const out = tf.tidy(() => body(b) as tf.Tensor);
  b.disposeEagerLayers();
  return out as T;
}

/**
 * Main path conv(1x1, stride s) → BN → ReLU → conv(f×f, same) → BN → ReLU → conv(1x1) → BN,
 * shared by both blocks; returns the main path's output before the addition.
 */
function bottleneckMainPath(b: BlockBuilder, x: AnyTensor, f: number, [F1, F2, F3]: Filters, stage: number, block: string, s: number): AnyTensor {
  const base = `${stage}${block}_branch`;
  let y = b.conv(x, F1, 1, s, 'valid', `res${base}2a`);
  y = b.batchNorm(y, `bn${base}2a`);
  y = b.relu(y, `relu${base}2a`);
  y = b.conv(y, F2, f, 1, 'same', `res${base}2b`);
  y = b.batchNorm(y, `bn${base}2b`);
  y = b.relu(y, `relu${base}2b`);
  y = b.conv(y, F3, 1, 1, 'valid', `res${base}2c`);
  return b.batchNorm(y, `bn${base}2c`); // no ReLU here: it comes after the addition
}

/** Identity block: input channels must equal F3; the shortcut is the input itself. */
export function identityBlock<T extends AnyTensor>(x: T, f: number, filters: Filters, options: BlockOptions): T {
  const channels = x.shape[x.shape.length - 1];
  if (channels !== filters[2]) {
    throw new Error(`identityBlock ${options.stage}${options.block}: input has ${channels} channels, F3 is ${filters[2]}`);
  }
  const { stage, block } = options;
  return runBlock(x, options, (b) => {
    const mainPath = bottleneckMainPath(b, x, f, filters, stage, block, 1);
    return b.relu(b.add(mainPath, x, `add${stage}${block}`), `relu${stage}${block}`);
  });
}

/** Convolutional block: a strided main path plus a 1x1 projection shortcut (conv + BN, no activation). */
export function convolutionalBlock<T extends AnyTensor>(x: T, f: number, filters: Filters, options: ConvolutionalBlockOptions): T {
  const s = options.s ?? 2;
  const { stage, block } = options;
  return runBlock(x, options, (b) => {
    const mainPath = bottleneckMainPath(b, x, f, filters, stage, block, s);
    const projection = b.conv(x, filters[2], 1, s, 'valid', `res${stage}${block}_branch1`);
    const shortcut = b.batchNorm(projection, `bn${stage}${block}_branch1`);
    return b.relu(b.add(mainPath, shortcut, `add${stage}${block}`), `relu${stage}${block}`);
  });
}
