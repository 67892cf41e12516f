// Where a data set's decoded pixels live once read: in memory (8-bit levels, in a SharedArrayBuffer
// when a Node reader made them, so batch workers read them without a copy) or in a file of the
// decoded-data cache that batches are read from (a data set larger than the memory allowed to it).
// Also the options every reader takes. Types only: no Node import.
import type { ImageDataset, ResizeMode } from './types.js';

export type PixelStore =
  /** NHWC 8-bit levels, image i at i * imageLength. */
  | { kind: 'memory'; levels: Uint8Array }
  /** The same layout in a file, from byte `offset`. */
  | { kind: 'file'; path: string; offset: number };

/** A decoded data set whose pixels may be in memory or on disk; labels are always in memory. */
export interface StoredDataset {
  store: PixelStore;
  labels: Int32Array;
  /** [n, height, width, channels]. */
  shape: [number, number, number, number];
  classNames: string[];
  /** Where the data came from (a path, or "mnist"). */
  source: string;
  /** How images of another size than shape[1] x shape[2] were brought to it. */
  resize: ResizeMode;
}

/** A size to resize to when none is asked for, and why (said in the notice line). */
export interface SizeChoice {
  size: [number, number];
  /** e.g. "resnet50's input size". */
  reason: string;
}

export interface ReadOptions {
  /** [height, width] to resize every image to (an explicit choice: no notice). */
  imageSize?: [number, number];
  /** Without imageSize: this size (the model's own), else the most common stored size of the data. */
  defaultSize?: SizeChoice;
  /** How an image of another size is resized (types.ts); default 'squash'. */
  resize?: ResizeMode;
  /** 1 (greyscale) or 3 (RGB); default: as stored (the folder reader: as the first image). */
  channels?: number;
  /** At most this many images, taken round-robin over the classes. */
  limit?: number;
  /** Folder of the decoded-data cache (image folders only); undefined = no cache. */
  cacheDir?: string;
  /** Largest decoded data set held in memory, in bytes; a larger one streams from the cache file. Default: no limit. */
  maxMemory?: number;
  /** Called as images are decoded (done of total). */
  onProgress?: (done: number, total: number) => void;
  /** Receives notices (images resized, cache unavailable) and status lines, one line each. */
  log?: (line: string) => void;
  /** Hears notices about an image folder's layout (class folders reached through symbolic links);
   *  default: stderr, as `resnet: note: ...`. */
  onNotice?: (line: string) => void;
}

export function storedInMemory(ds: ImageDataset, resize: ResizeMode): StoredDataset {
  return { store: { kind: 'memory', levels: ds.images }, labels: ds.labels, shape: ds.shape, classNames: ds.classNames, source: ds.source, resize };
}

/** Bytes of one image. */
export function imageBytes(shape: readonly number[]): number {
  return shape[1] * shape[2] * shape[3];
}
