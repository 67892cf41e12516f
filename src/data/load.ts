// loadDataset / openDataset: one entry point for every data source the trainer accepts.
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { readImageFolder } from './folder.js';
import { readHdf5 } from './hdf5.js';
import { readMnist } from './mnist.js';
import { storedInMemory, type ReadOptions, type StoredDataset } from './store.js';
import { DataError, type ImageDataset } from './types.js';

/** The options of every reader (src/data/store.ts). */
export type LoadOptions = ReadOptions;

export const HDF5_EXTENSIONS: readonly string[] = ['.h5', '.hdf5'];

/**
 * path undefined: the embedded MNIST digits. A folder: one sub-folder per class. A .h5/.hdf5
 * file: the course layout. See docs/data.md. The pixels stay in memory unless a folder's decoded
 * images exceed options.maxMemory (they are then read from the cache file, batch by batch).
 */
export async function openDataset(path: string | undefined, options: LoadOptions = {}): Promise<StoredDataset> {
  const mode = options.resize ?? 'squash';
  if (path === undefined) return storedInMemory(await readMnist(options), mode);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new DataError(`${path}: no such file or folder`);
  if (info.isDirectory()) return readImageFolder(path, options);
  if (!info.isFile()) throw new DataError(`${path}: not a file or folder (a device, pipe or socket)`);
  if (HDF5_EXTENSIONS.includes(extname(path).toLowerCase())) return storedInMemory(await readHdf5(path, options), mode);
  throw new DataError(
    `${path}: unsupported data file extension '${extname(path)}' (expected a folder with one sub-folder of images per class, or an .h5/.hdf5 file)`,
  );
}

/** openDataset with every pixel in memory: 8-bit levels, NHWC (pixels / 255 is what a model sees). */
export async function loadDataset(path: string | undefined, options: LoadOptions = {}): Promise<ImageDataset> {
  const { store, labels, shape, classNames, source } = await openDataset(path, { ...options, maxMemory: Infinity });
  if (store.kind !== 'memory') throw new Error('loadDataset: the pixels are not in memory');
  return { images: store.levels, labels, shape, classNames, source };
}
