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
export { buildModel, modelNames, modelInputSize, registerModel, type ModelOptions } from './models/registry.js';
export { useBackend, usePrecision, availableBackends, ENGINES, PRECISIONS, type EngineName, type Precision } from './engine/backends.js';
export { summarize, formatSummary, type ModelSummary, type SummaryRow } from './inspect/summary.js';
export { measureThroughput, profileKernels, type ThroughputOptions, type ThroughputResult } from './inspect/throughput.js';
export { stratifiedSplit, stratifiedSplitIndices, shuffledIndices, makeBatch, augment, memorySource, DataError } from './data/index.js';
export { loadDataset, openDataset, loadImages, defaultCacheDir } from './data/node.js';
export { BatchWorkers } from './data/pipeline.js';
export type { ImageDataset, AugmentOptions, BatchSource, BatchRequest, Batch } from './data/index.js';
export { RECIPES, DEFAULT_RECIPE, recipeNames, type Recipe } from './train/recipes.js';
export { trainRun, resumeRun, type RunResult } from './train/run.js';
export { evaluateModel, predictProbabilities, type Evaluation } from './train/evaluate.js';
export { loadModelFolder } from './train/checkpoint.js';
export { UserError } from './errors.js';
