// The data layer's browser-safe core: the in-memory data set type, splits, shuffling, batches and
// augmentation. The readers (image folders, HDF5, MNIST, image files) need Node: src/data/node.ts.
export { DataError, type ImageDataset } from './types.js';
export { stratifiedSplit, stratifiedSplitIndices, subsetDataset, classCounts } from './split.js';
export { shuffledIndices, mulberry32 } from './random.js';
export { makeBatch, batchTensors, type BatchOptions } from './batch.js';
export { assembleBatch, gatherImages, levelsToUnit, type Batch, type BatchRequest } from './assemble.js';
export { memorySource, plainRequests, range, type BatchSource } from './source.js';
export { augment, augmentPixels, type AugmentOptions } from './augment.js';
export { padCropFlip, applyCrops, drawCropParams, mirrorImages, type CropParams } from './crop.js';
