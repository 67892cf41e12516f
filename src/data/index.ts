// The data layer: readers (MNIST, image folders, HDF5), splits, shuffling, batches, augmentation.
export { DataError, type ImageDataset } from './types.js';
export { loadDataset, type LoadOptions, HDF5_EXTENSIONS } from './load.js';
export { loadImages, IMAGE_EXTENSIONS } from './images.js';
export { stratifiedSplit, subsetDataset, classCounts } from './split.js';
export { shuffledIndices, mulberry32 } from './random.js';
export { makeBatch, type BatchOptions } from './batch.js';
export { augment, augmentPixels, type AugmentOptions } from './augment.js';
