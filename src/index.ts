// resnet-ts: residual networks for image classification with the Keras layer vocabulary (TensorFlow.js).
// The library's browser-safe core, and its entry point in a browser bundle: blocks, models, the
// training step and optimisers, evaluation, model folders in memory, Grad-CAM and fine-tuning on
// cached features, with the browser's engines (WebGPU, WebGL, wasm). Nothing reachable from here
// imports Node (test/core-imports.test.ts checks it); Node's entry point is src/node.ts, which adds
// the file readers, the native engine, training runs and the CLI's helpers. `tf` is the very
// TensorFlow.js instance the library uses: build tensors and models with it so that everything
// lives in one engine.
import * as tf from './tf.js';

export { tf };
export { identityBlock, convolutionalBlock, defaultKernelInitializer } from './blocks.js';
export type { BlockOptions, ConvolutionalBlockOptions, Filters, Initializer, KernelInitializer } from './blocks.js';
export { resnet50, type ResNet50Options } from './models/resnet50.js';
export { buildResNet, buildFamilyModel, familyNames, applyBasicBlock, applyBottleneckBlock, applyStack } from './models/resnet.js';
export type { Architecture, ResNetOptions } from './models/resnet.js';
export { buildModel, modelNames, modelInputSize, registerModel, type ModelOptions } from './models/registry.js';
export { useBackend, availableBackends, engineReport, engineRegistry, setWasmBase, setWasmThreads, wasmThreads, BROWSER_ENGINES as ENGINES } from './engine/browser.js';
export type { BrowserEngine as EngineName, EngineStatus } from './engine/browser.js';
export { summarize, formatSummary, type ModelSummary, type SummaryRow } from './inspect/summary.js';
export { measureThroughput, profileKernels, type ThroughputOptions, type ThroughputResult } from './inspect/throughput.js';
export { stratifiedSplit, stratifiedSplitIndices, shuffledIndices, makeBatch, augment, memorySource, DataError } from './data/index.js';
export type { ImageDataset, AugmentOptions, BatchSource, BatchRequest, Batch } from './data/index.js';
export { RECIPES, DEFAULT_RECIPE, recipeNames, type Recipe } from './train/recipes.js';
export { trainStep } from './train/loop.js';
export { makeOptimizer, type TrainOptimizer } from './train/optimizer.js';
export { defaultOptions, type TrainOptions } from './train/options.js';
export type { FinetuneOptions } from './train/finetune.js';
export { setTrainability, useKerasFrozenBatchNorm, type Trainability } from './train/freeze.js';
export { evaluateModel, predictProbabilities, type Evaluation } from './train/evaluate.js';
export { modelFiles, modelArtifacts, modelFromArtifacts, checkModelJson, type ModelJson } from './train/model-folder.js';
export type { ModelMetadata } from './train/checkpoint.js';
export { gradCam, gradCamParts, overlay, upsample, turbo, type GradCamResult, type GradCamParts, type GradCamOptions } from './explain/gradcam.js';
export { lastFeatureLayer, lastStageInput, headInput, headLayer, softmaxHead, modelAfter, modelUntil } from './models/cut.js';
export { buildClassifier, HEAD_SEED, type Classifier } from './transfer/classifier.js';
export { extractFeatures, FeatureStore } from './transfer/features.js';
export { fitClassifier, DEFAULT_FIT, type FitOptions, type FitHooks, type FitResult, type StepReport, type EpochReport } from './transfer/fit.js';
export { Preprocessing, preprocessingPreset, PREPROCESSING_PRESETS, type PreprocessingConfig } from './models/preprocessing.js';
export { replaceHead, initializeHead } from './interop/head.js';
export { onnxModelBytes } from './interop/onnx-export.js';
export { UserError } from './errors.js';
