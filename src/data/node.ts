// The data layer's Node-only readers (file system, sharp, h5wasm): image folders, HDF5 files, the
// embedded MNIST digits and single image files. Everything else is in src/data/index.ts.
export { loadDataset, type LoadOptions, HDF5_EXTENSIONS } from './load.js';
export { loadImages, IMAGE_EXTENSIONS } from './images.js';
