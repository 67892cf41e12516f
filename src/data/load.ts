// loadDataset: one entry point for every data source the trainer accepts.
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { readImageFolder } from './folder.js';
import { readHdf5 } from './hdf5.js';
import { readMnist } from './mnist.js';
import { DataError, type ImageDataset } from './types.js';

export interface LoadOptions {
  /** [height, width] to resize every image to. */
  imageSize?: [number, number];
  /** 1 (greyscale) or 3 (RGB); default: as stored (the folder reader: as the first image). */
  channels?: number;
  /** At most this many images, taken round-robin over the classes. */
  limit?: number;
}

export const HDF5_EXTENSIONS: readonly string[] = ['.h5', '.hdf5'];

/**
 * path undefined: the embedded MNIST digits. A folder: one sub-folder per class. A .h5/.hdf5
 * file: the course layout. Pixels are / 255; see docs/data.md.
 */
export async function loadDataset(path: string | undefined, options: LoadOptions = {}): Promise<ImageDataset> {
  if (path === undefined) return readMnist(options);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new DataError(`${path}: no such file or folder`);
  if (info.isDirectory()) return readImageFolder(path, options);
  if (!info.isFile()) throw new DataError(`${path}: not a file or folder (a device, pipe or socket)`);
  if (info.isFile() && HDF5_EXTENSIONS.includes(extname(path).toLowerCase())) return readHdf5(path, options);
  throw new DataError(
    `${path}: unsupported data file extension '${extname(path)}' (expected a folder with one sub-folder of images per class, or an .h5/.hdf5 file)`,
  );
}
