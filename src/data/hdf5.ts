// Reads the HDF5 layout of the Deep Learning course's data files: `train_set_x` / `train_set_y`
// (or `test_set_x` / `test_set_y`), uint8 images N x H x W x C (or N x H x W for greyscale),
// integer labels N (or 1 x N / N x 1), and optionally `list_classes` (the class names).
import fs from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import h5wasm, { Dataset, type File as H5File } from 'h5wasm/node';
import { datasetFromBytes, type BytesOptions } from './bytes.js';
import { DataError, type ImageDataset } from './types.js';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
/** h5wasm's type codes (HDF5's H5T_class_t). */
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_STRING = 3;

/** HDF5 puts its signature at byte 0, 512, 1024, 2048, ... (after an optional user block). */
async function hasHdf5Signature(path: string, size: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(HDF5_SIGNATURE.length);
    for (let offset = 0; offset + header.length <= size; offset = offset === 0 ? 512 : offset * 2) {
      await handle.read(header, 0, header.length, offset);
      if (header.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

function getDataset(file: H5File, path: string, key: string): Dataset {
  const entity = file.get(key);
  if (!(entity instanceof Dataset)) throw new DataError(`${path}: '${key}' is not a dataset`);
  return entity;
}

function toNumbers(path: string, key: string, data: Dataset): number[] {
  const { type } = data.metadata;
  if (type !== H5T_INTEGER && type !== H5T_FLOAT) throw new DataError(`${path}: '${key}' must hold integer labels, found dtype ${JSON.stringify(data.dtype)}`);
  const values = Array.from(data.value as ArrayLike<number | bigint>, Number);
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0) throw new DataError(`${path}: '${key}'[${bad}] = ${values[bad]} is not a class index (a non-negative integer)`);
  return values;
}

/** N integer labels stored as N, 1 x N or N x 1. */
function readLabels(file: H5File, path: string, yKey: string, n: number): Int32Array {
  const y = getDataset(file, path, yKey);
  const yShape = y.shape ?? [];
  const yCount = yShape.reduce((a, b) => a * b, 1);
  if (yShape.length < 1 || yShape.length > 2 || (yShape.length === 2 && Math.min(...yShape) !== 1)) {
    throw new DataError(`${path}: '${yKey}' has shape [${yShape.join(', ')}], expected N labels (N, 1 x N or N x 1)`);
  }
  if (yCount !== n) throw new DataError(`${path}: '${yKey.replace('_y', '_x')}' holds ${n} images but '${yKey}' holds ${yCount} labels`);
  return Int32Array.from(toNumbers(path, yKey, y));
}

/** Names from `list_classes` (numbers written as decimals), else '0'..'<max label>'. */
function readClassNames(file: H5File, path: string, keys: string[], labels: Int32Array): string[] {
  if (!keys.includes('list_classes')) {
    const maxLabel = labels.reduce((a, b) => Math.max(a, b), 0);
    return Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  }
  const list = getDataset(file, path, 'list_classes');
  const shape = list.shape ?? [];
  if (shape.length !== 1 || shape[0] === 0) throw new DataError(`${path}: 'list_classes' must be a non-empty 1-D list`);
  const isString = list.metadata.type === H5T_STRING;
  return Array.from(list.value as ArrayLike<unknown>, (v) => (isString ? String(v) : String(Number(v))));
}

/**
 * Runs synchronous h5wasm calls with stderr muted: on a damaged file HDF5's C library prints its error
 * stack ("HDF5-DIAG: ...") there, while the DataError thrown here says what is wrong in one line.
 * Nothing else can write in between, since the calls are synchronous.
 */
/** What fs.writeSync(fd, data, offset?, length?) would have written: callers retry until it is all out. */
function bytesClaimed([data, offset, length]: unknown[]): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (typeof length === 'number') return length;
  const size = (data as ArrayBufferView).byteLength;
  return typeof offset === 'number' ? size - offset : size;
}

function withHdf5DiagnosticsMuted<T>(read: () => T): T {
  const writeSync = fs.writeSync; // h5wasm's C stderr goes through fs.writeSync(2, ...)
  fs.writeSync = ((fd: number, ...rest: unknown[]) =>
    fd === 2 ? bytesClaimed(rest) : (writeSync as (fd: number, ...rest: unknown[]) => number)(fd, ...rest)) as typeof fs.writeSync;
  try {
    return read();
  } finally {
    fs.writeSync = writeSync;
  }
}

interface CourseLayout {
  shape: [number, number, number, number];
  content: { bytes: Uint8Array; labels: Int32Array; classNames: string[] };
}

function readCourseLayout(path: string): CourseLayout {
  let file: H5File;
  try {
    file = new h5wasm.File(resolve(path), 'r');
    file.keys();
  } catch {
    // h5wasm's own messages here say little ("name not defined"); HDF5 prints its details to stderr.
    throw new DataError(`${path}: cannot read the HDF5 file (truncated or corrupt)`);
  }
  let shape: [number, number, number, number];
  let content: { bytes: Uint8Array; labels: Int32Array; classNames: string[] };
  try {
    const keys = file.keys();
    const split = ['train', 'test'].find((s) => keys.includes(`${s}_set_x`) && keys.includes(`${s}_set_y`));
    if (!split) {
      throw new DataError(`${path}: expected datasets train_set_x and train_set_y (or test_set_x and test_set_y), found: ${keys.join(', ') || 'none'}`);
    }
    const [xKey, yKey] = [`${split}_set_x`, `${split}_set_y`];
    const x = getDataset(file, path, xKey);
    const xShape = x.shape ?? [];
    if (xShape.length !== 3 && xShape.length !== 4) {
      throw new DataError(`${path}: '${xKey}' has shape [${xShape.join(', ')}], expected N x H x W x C (or N x H x W)`);
    }
    const [n, height, width, channels = 1] = xShape;
    if (channels !== 1 && channels !== 3) throw new DataError(`${path}: '${xKey}' has ${channels} channels, expected 1 or 3`);
    const { type, size, signed } = x.metadata;
    if (type !== H5T_INTEGER || size !== 1 || signed) throw new DataError(`${path}: '${xKey}' has dtype ${JSON.stringify(x.dtype)}, expected uint8 pixels`);
    if (n === 0) throw new DataError(`${path}: '${xKey}' holds no images`);

    const labels = readLabels(file, path, yKey, n);
    const classNames = readClassNames(file, path, keys, labels);
    const outOfRange = labels.findIndex((l) => l >= classNames.length);
    if (outOfRange >= 0) {
      throw new DataError(`${path}: '${yKey}'[${outOfRange}] = ${labels[outOfRange]} is out of range for ${classNames.length} classes in 'list_classes'`);
    }
    const bytes = x.value as Uint8Array;
    if (bytes.length !== n * height * width * channels) throw new DataError(`${path}: '${xKey}' could not be read in full (truncated file?)`);
    shape = [n, height, width, channels];
    content = { bytes, labels, classNames };
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`${path}: cannot read the HDF5 file (truncated or corrupt)`);
  } finally {
    file.close();
  }
  return { shape, content };
}

/** Reads the course layout; `train_set_*` wins when a file holds both splits. */
export async function readHdf5(path: string, options: BytesOptions = {}): Promise<ImageDataset> {
  const info = await stat(path);
  if (!(await hasHdf5Signature(path, info.size))) throw new DataError(`${path}: not an HDF5 file (no HDF5 signature)`);
  await h5wasm.ready;
  const { shape, content } = withHdf5DiagnosticsMuted(() => readCourseLayout(path));
  return datasetFromBytes(content.bytes, shape, content.labels, content.classNames, path, options);
}
