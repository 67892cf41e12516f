// How training, validation and batch-norm recalibration get their batches: a BatchSource assembles
// requested batches in order. The loop (src/train/loop.ts) only knows this interface, so it runs in a
// browser on `memorySource` (this file, assembling on the calling thread) and in Node on the worker
// pipeline (src/data/pipeline.ts: worker threads, data in memory or streamed from disk).
import { assembleBatch, gatherImages, type Batch, type BatchRequest } from './assemble.js';
import type { ImageDataset } from './types.js';

export type { Batch, BatchRequest };

export interface BatchSource {
  /** Images in the source; requests index them 0 .. size - 1. */
  readonly size: number;
  /** [height, width, channels] of every image. */
  readonly imageShape: readonly [number, number, number];
  /** Class names, index = label. */
  readonly classNames: readonly string[];
  /** Label of every image, in source order (always in memory, even when the pixels are not). */
  readonly labels: Int32Array;
  /**
   * The batches of `requests`, assembled in order. A source may work a bounded number of requests
   * ahead of the consumer; leaving the loop early (break, throw) abandons the rest.
   */
  batches(requests: Iterable<BatchRequest>): AsyncIterable<Batch>;
}

/** The images of `ds` at `positions` (all of them by default, in order) as a source that assembles
 *  each batch when it is asked for, on the calling thread. Nothing is copied. */
export function memorySource(ds: ImageDataset, positions?: ArrayLike<number>): BatchSource {
  const [n, height, width, channels] = ds.shape;
  const imageShape = [height, width, channels] as const;
  const map = positions ?? null;
  const size = map ? map.length : n;
  const labels = map ? Int32Array.from(map, (p) => ds.labels[p]) : ds.labels;
  return {
    size,
    imageShape,
    classNames: ds.classNames,
    labels,
    async *batches(requests) {
      for (const request of requests) {
        for (let i = 0; i < request.indices.length; i++) {
          const index = request.indices[i];
          if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`batch index ${index} is outside 0..${size - 1}`);
        }
        const stored = map ? Array.from(request.indices, (i) => map[i]) : request.indices;
        const levels = gatherImages(ds.images, height * width * channels, stored);
        yield assembleBatch(levels, Int32Array.from(request.indices, (i) => labels[i]), imageShape, ds.classNames.length, request);
      }
    },
  };
}

/** Requests for `indices` in consecutive batches of `batchSize`, un-augmented (evaluation, recalibration). */
export function* plainRequests(indices: ArrayLike<number>, batchSize: number): Generator<BatchRequest> {
  for (let start = 0; start < indices.length; start += batchSize) {
    yield { indices: Array.prototype.slice.call(indices, start, Math.min(indices.length, start + batchSize)) as number[] };
  }
}

/** 0, 1, ..., n - 1. */
export function range(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
