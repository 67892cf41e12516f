// resnet-ts: residual networks for image classification with the Keras layer vocabulary (TensorFlow.js).
// The library's public API. `tf` is the very TensorFlow.js instance the library uses: build tensors and
// models with it so that everything lives in one engine.
import * as tf from './tf.js';

export { tf };
export { identityBlock, convolutionalBlock, defaultKernelInitializer } from './blocks.js';
export type { BlockOptions, ConvolutionalBlockOptions, Filters, Initializer, KernelInitializer } from './blocks.js';
export { resnet50, type ResNet50Options } from './models/resnet50.js';
export { buildResNet, buildFamilyModel, familyNames, applyBasicBlock, applyBottleneckBlock, applyStack } from './models/resnet.js';
export type { Architecture, ResNetOptions } from './models/resnet.js';
export { buildModel, modelNames, registerModel, type ModelOptions } from './models/registry.js';
export { useBackend, usePrecision, availableBackends, ENGINES, PRECISIONS, type EngineName, type Precision } from './engine/backends.js';
export { summarize, formatSummary, type ModelSummary, type SummaryRow } from './inspect/summary.js';
export { measureThroughput, profileKernels, type ThroughputOptions, type ThroughputResult } from './inspect/throughput.js';
export { stratifiedSplit, shuffledIndices, makeBatch, augment, DataError } from './data/index.js';
export { loadDataset, loadImages } from './data/node.js';
export type { ImageDataset, AugmentOptions } from './data/index.js';
export { trainRun, resumeRun, type RunResult } from './train/run.js';
export { defaultOptions, type TrainOptions } from './train/options.js';
export type { FinetuneOptions } from './train/finetune.js';
export { setTrainability, useKerasFrozenBatchNorm, headLayer, type Trainability } from './train/freeze.js';
export { trainDistributed } from './distributed/jax.js';
export type { DistributedOptions } from './distributed/options.js';
export { evaluateModel, predictProbabilities, type Evaluation } from './train/evaluate.js';
export { loadModelFolder } from './train/checkpoint.js';
export { UserError } from './errors.js';
