// Reads the HDF5 layout of the Deep Learning course's data files: `train_set_x` / `train_set_y`
// (or `test_set_x` / `test_set_y`), uint8 images N x H x W x C (or N x H x W for greyscale),
// integer labels N (or 1 x N / N x 1), and optionally `list_classes` (the class names).
// Every declared dimension is checked against limits and the file's size before h5wasm reads a
// dataset (it reads whole datasets into its 2 GiB WebAssembly heap): see src/limits.ts.
import fs from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Dataset, File as H5File } from 'h5wasm/node';
import { MAX_CLASSES, MAX_CLASS_NAME_LENGTH, MAX_HDF5_COMPRESSION_RATIO, MAX_HDF5_DATASET_BYTES } from '../limits.js';
import { datasetFromBytes, type BytesOptions } from './bytes.js';
import { DataError, type ImageDataset } from './types.js';

type H5wasm = typeof import('h5wasm/node');
let h5wasmModule: Promise<H5wasm> | null = null;

/**
 * Loads h5wasm on first use (not at import: its WebAssembly start-up fails under a tight memory limit,
 * `ulimit -v`, and would then fail every command). Its own report of that failure on stderr is muted;
 * the DataError says it in one line.
 */
async function loadH5wasm(): Promise<H5wasm> {
  h5wasmModule ??= (async () => {
    const consoleError = console.error;
    console.error = () => undefined;
    try {
      const mod = await import('h5wasm/node');
      await mod.default.ready;
      return mod;
    } finally {
      console.error = consoleError;
    }
  })();
  try {
    return await h5wasmModule;
  } catch (error) {
    h5wasmModule = null;
    const reason = String((error as Error)?.message ?? error).split('\n')[0].slice(0, 200);
    throw new DataError(`cannot start the HDF5 reader (h5wasm): ${reason}; it needs about 2 GiB of address space for its WebAssembly heap (check ulimit -v)`);
  }
}

/** Throws unless reading `dataset` whole fits MAX_HDF5_DATASET_BYTES and, uncompressed, the file itself. */
function checkDatasetSize(path: string, key: string, dataset: Dataset, fileSize: number): void {
  const shape = dataset.shape ?? [];
  const zero = shape.findIndex((d) => d === 0);
  if (zero >= 0) throw new DataError(`${path}: '${key}' has shape [${shape.join(', ')}], with a zero dimension`);
  if (!shape.every((d) => Number.isSafeInteger(d) && d > 0)) throw new DataError(`${path}: '${key}' has an invalid shape [${shape.join(', ')}]`);
  const meta = dataset.metadata;
  if (meta.virtual_sources?.length) throw new DataError(`${path}: '${key}' is a virtual dataset that reads other files; not supported`);
  const bytes = shape.reduce((a, b) => a * b, 1) * Math.max(1, meta.size);
  const compressed = (dataset.filters ?? []).length > 0;
  const allowed = Math.min(MAX_HDF5_DATASET_BYTES, compressed ? fileSize * MAX_HDF5_COMPRESSION_RATIO : fileSize);
  if (!(bytes <= allowed)) {
    const why = bytes > MAX_HDF5_DATASET_BYTES ? `more than the ${MAX_HDF5_DATASET_BYTES / 2 ** 30} GiB the HDF5 reader can hold` : `more than the file's ${fileSize} bytes can hold (truncated or damaged file)`;
    throw new DataError(`${path}: '${key}' declares shape [${shape.join(', ')}], ${bytes} bytes, ${why}`);
  }
}

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

function getDataset(h5: H5wasm, file: H5File, path: string, key: string): Dataset {
  // An external link would make h5wasm read another file: the data stays confined to the file named.
  const external = file.get_external_link(key) as { filename?: string } | null;
  if (external?.filename) throw new DataError(`${path}: '${key}' is a link to another file (${external.filename}); links out of the file are not followed`);
  const entity = file.get(key);
  if (!(entity instanceof h5.Dataset)) throw new DataError(`${path}: '${key}' is not a dataset`);
  return entity;
}

function toNumbers(path: string, key: string, data: Dataset): number[] {
  const { type } = data.metadata;
  if (type !== H5T_INTEGER && type !== H5T_FLOAT) throw new DataError(`${path}: '${key}' must hold integer labels, found dtype ${JSON.stringify(data.dtype)}`);
  const values = Array.from(data.value as ArrayLike<number | bigint>, Number);
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0) throw new DataError(`${path}: '${key}'[${bad}] = ${values[bad]} is not a class index (a non-negative integer)`);
  // Before Int32Array (which would wrap 2^32 + 1 to 1) and before naming max + 1 classes.
  const huge = values.findIndex((v) => v >= MAX_CLASSES);
  if (huge >= 0) throw new DataError(`${path}: '${key}'[${huge}] = ${values[huge]} is larger than the largest class index allowed (${MAX_CLASSES - 1})`);
  return values;
}

/** N integer labels stored as N, 1 x N or N x 1. */
function readLabels(h5: H5wasm, file: H5File, path: string, yKey: string, n: number, fileSize: number): Int32Array {
  const y = getDataset(h5, file, path, yKey);
  const yShape = y.shape ?? [];
  const yCount = yShape.reduce((a, b) => a * b, 1);
  if (yShape.length < 1 || yShape.length > 2 || (yShape.length === 2 && Math.min(...yShape) !== 1)) {
    throw new DataError(`${path}: '${yKey}' has shape [${yShape.join(', ')}], expected N labels (N, 1 x N or N x 1)`);
  }
  if (yCount !== n) throw new DataError(`${path}: '${yKey.replace('_y', '_x')}' holds ${n} images but '${yKey}' holds ${yCount} labels`);
  checkDatasetSize(path, yKey, y, fileSize);
  return Int32Array.from(toNumbers(path, yKey, y));
}

/** Names from `list_classes` (numbers written as decimals), else '0'..'<max label>'. */
function readClassNames(h5: H5wasm, file: H5File, path: string, keys: string[], labels: Int32Array, fileSize: number): string[] {
  if (!keys.includes('list_classes')) {
    const maxLabel = labels.reduce((a, b) => Math.max(a, b), 0);
    return Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  }
  const list = getDataset(h5, file, path, 'list_classes');
  const shape = list.shape ?? [];
  if (shape.length !== 1 || shape[0] === 0) throw new DataError(`${path}: 'list_classes' must be a non-empty 1-D list`);
  if (shape[0] > MAX_CLASSES) throw new DataError(`${path}: 'list_classes' names ${shape[0]} classes, more than the ${MAX_CLASSES} allowed`);
  checkDatasetSize(path, 'list_classes', list, fileSize);
  const isString = list.metadata.type === H5T_STRING;
  const names = Array.from(list.value as ArrayLike<unknown>, (v) => (isString ? String(v) : String(Number(v))));
  const long = names.findIndex((name) => name.length > MAX_CLASS_NAME_LENGTH);
  if (long >= 0) throw new DataError(`${path}: 'list_classes'[${long}] is longer than ${MAX_CLASS_NAME_LENGTH} characters`);
  return names;
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

function readCourseLayout(h5: H5wasm, path: string, fileSize: number): CourseLayout {
  let file: H5File;
  try {
    file = new h5.File(resolve(path), 'r');
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
    const x = getDataset(h5, file, path, xKey);
    const xShape = x.shape ?? [];
    if (xShape.length !== 3 && xShape.length !== 4) {
      throw new DataError(`${path}: '${xKey}' has shape [${xShape.join(', ')}], expected N x H x W x C (or N x H x W)`);
    }
    const [n, height, width, channels = 1] = xShape;
    if (channels !== 1 && channels !== 3) throw new DataError(`${path}: '${xKey}' has ${channels} channels, expected 1 or 3`);
    const { type, size, signed } = x.metadata;
    if (type !== H5T_INTEGER || size !== 1 || signed) throw new DataError(`${path}: '${xKey}' has dtype ${JSON.stringify(x.dtype)}, expected uint8 pixels`);
    if (n === 0) throw new DataError(`${path}: '${xKey}' holds no images`);
    checkDatasetSize(path, xKey, x, fileSize);

    const labels = readLabels(h5, file, path, yKey, n, fileSize);
    const classNames = readClassNames(h5, file, path, keys, labels, fileSize);
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
    const reason = String((error as Error)?.message ?? error);
    if (/OOM|out of memory|enlarge memory|allocation failed/i.test(reason)) throw new DataError(`${path}: not enough memory to read the HDF5 file (${reason.split('\n')[0].slice(0, 100)})`);
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
  const h5 = await loadH5wasm();
  const { shape, content } = withHdf5DiagnosticsMuted(() => readCourseLayout(h5, path, info.size));
  return datasetFromBytes(content.bytes, shape, content.labels, content.classNames, path, options);
}
