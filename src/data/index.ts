// The data layer's browser-safe core: the in-memory data set type, splits, shuffling, batches and
// augmentation. The readers (image folders, HDF5, MNIST, image files) need Node: src/data/node.ts.
export { DataError, type ImageDataset } from './types.js';
export { stratifiedSplit, subsetDataset, classCounts } from './split.js';
export { shuffledIndices, mulberry32 } from './random.js';
export { makeBatch, type BatchOptions } from './batch.js';
export { augment, augmentPixels, type AugmentOptions } from './augment.js';
export { padCropFlip, applyCrops, drawCropParams, mirrorImages, type CropParams } from './crop.js';
