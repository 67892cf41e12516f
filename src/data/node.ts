// The data layer's Node-only readers (file system, sharp, h5wasm): image folders, HDF5 files, the
// embedded MNIST digits and single image files, the decoded-data cache and the batch workers.
// Everything else is in src/data/index.ts.
export { loadDataset, openDataset, type LoadOptions, HDF5_EXTENSIONS } from './load.js';
export { loadImages, IMAGE_EXTENSIONS } from './images.js';
export { defaultCacheDir } from './cache.js';
export type { PixelStore, StoredDataset, ReadOptions, SizeChoice } from './store.js';
