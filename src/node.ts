// resnet-ts in Node: everything of the browser-safe core (src/index.ts) plus what needs Node — the
// engines of this machine (the native oneDNN addon first), the data readers (image folders, HDF5,
// MNIST; sharp and h5wasm), whole training runs with their files, and model folders on disk.
// `import ... from 'resnet-ts'` in Node resolves here (package.json "exports", "node" condition).
export * from './index.js';
// Node's engine choice (native, wasm, cpu) takes the place of the browser's under the same names.
export { useBackend, usePrecision, availableBackends, ENGINES, PRECISIONS, type EngineName, type Precision } from './engine/backends.js';
export { loadDataset, openDataset, loadImages, defaultCacheDir } from './data/node.js';
export { BatchWorkers } from './data/pipeline.js';
export { trainRun, resumeRun, type RunResult } from './train/run.js';
// Training on Keras 3 + JAX, data-parallel over processes (a Python child process per worker).
export { trainDistributed } from './distributed/jax.js';
export type { DistributedOptions } from './distributed/options.js';
export { loadModelFolder } from './train/checkpoint.js';
// Importing pretrained Keras / PyTorch files and exporting model folders (they read and write files).
export { importModel, writeModelFolder, type ImportOptions, type ImportResult } from './interop/import.js';
export { exportModel, kerasArchiveBytes, EXPORT_FORMATS, type ExportFormat } from './interop/export.js';
export { explainFiles, type Explained } from './explain/files.js';
