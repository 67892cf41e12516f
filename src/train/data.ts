// The data of a training run, from its options: read (or found in the decoded-data cache), resized
// to the model's input size, split into training and validation parts, and served as batch sources
// by the worker pipeline (src/data/pipeline.ts). Node-only; the loop sees only the sources.
import { totalmem } from 'node:os';
import { UserError } from '../errors.js';
import { defaultCacheDir } from '../data/cache.js';
import { openDataset } from '../data/load.js';
import { BatchWorkers } from '../data/pipeline.js';
import { memorySource, range, type BatchSource } from '../data/source.js';
import { stratifiedSplitIndices } from '../data/split.js';
import type { ResizeMode } from '../data/types.js';
import type { StoredDataset } from '../data/store.js';
import { modelInputSize } from '../models/registry.js';
import { alignClasses } from './evaluate.js';
import type { TrainOptions } from './options.js';
import type { Progress } from './progress.js';

/** Without --max-memory, decoded data up to half of the machine's memory stays in memory. */
export function defaultMaxMemoryMB(): number {
  return Math.floor(totalmem() / 2 ** 21);
}

export interface RunData {
  train: BatchSource;
  val: BatchSource | null;
  /** --eval-data: the test set, in the training data's class order; null without it. */
  test: BatchSource | null;
  /** Where the data came from, and how many images it has (before the split). */
  source: string;
  images: number;
  inputShape: [number, number, number];
  classNames: string[];
  /** How images of another size were resized, to which [height, width] (saved with the model). */
  resize: { mode: ResizeMode; size: [number, number] };
  /** True when the pixels stream from the cache file instead of memory. */
  streaming: boolean;
  /** Stops the batch workers (the test set's too). */
  close(): Promise<void>;
}

/**
 * Reads the data of a run. The image size is `size` when given (a resumed run: its checkpoint's),
 * else --image-size, else the model's own input size (resnet50: 64), else the data's most common size.
 * `channels` (a fine-tuned model's input) converts the images to that many channels.
 */
export async function prepareRunData(o: TrainOptions, progress: Progress, size?: [number, number], channels?: number): Promise<RunData> {
  const modelSize = modelInputSize(o.model);
  const mode = o.resize ?? 'squash';
  const stored = await openDataset(o.data, {
    imageSize: size ?? (o.imageSize ? [o.imageSize, o.imageSize] : undefined),
    defaultSize: modelSize ? { size: [modelSize, modelSize], reason: `${o.model}'s input size` } : undefined,
    resize: mode,
    limit: o.limit,
    channels,
    cacheDir: o.cacheDir === '' ? undefined : (o.cacheDir ?? defaultCacheDir()),
    maxMemory: (o.maxMemory ?? defaultMaxMemoryMB()) * 2 ** 20,
    onProgress: progress.loading?.bind(progress),
    log: (line) => progress.log(line),
  });
  const [n, h, w, c] = stored.shape;
  if (n === 0) throw new UserError(`${o.data ?? 'mnist'}: no images`);
  const split = o.valSplit === 0 ? { train: range(n), val: new Int32Array(0) } : stratifiedSplitIndices(stored.labels, stored.classNames.length, o.valSplit, o.seed);
  if (split.train.length === 0) throw new UserError(`--val-split ${o.valSplit} leaves no training images`);
  const count = o.dataWorkers ?? 1;
  if (count === 0 && stored.store.kind === 'file') throw new UserError('--data-workers 0 needs the data in memory; it is streamed from the cache file (raise --max-memory)');
  const crop = o.augment?.crop ?? 0;
  if (crop >= Math.min(h, w)) throw new UserError(`--augment crop=${crop} needs images larger than ${crop} pixels a side; these are ${h}x${w}`);
  // --eval-data: read at the training data's size, resize mode and channels, labelled in its class order.
  const test = o.evalData === undefined ? null : await openEvalData(o, stored, mode, progress);
  const sources = (data: StoredDataset) => {
    const workers = count > 0 ? new BatchWorkers(data, { workers: count }) : null;
    const inMemory = () => ({ images: (data.store as { levels: Uint8Array }).levels, labels: data.labels, shape: data.shape, classNames: data.classNames, source: data.source });
    return { source: (positions?: Int32Array) => (workers ? workers.source(positions) : memorySource(inMemory(), positions)), close: async () => workers?.close() };
  };
  const main = sources(stored);
  const extra = test ? sources(test) : null;
  return {
    train: main.source(split.train),
    val: split.val.length > 0 ? main.source(split.val) : null,
    test: extra ? extra.source() : null,
    source: stored.source,
    images: n,
    inputShape: [h, w, c],
    classNames: stored.classNames,
    resize: { mode, size: [h, w] },
    streaming: stored.store.kind === 'file',
    close: async () => {
      await main.close();
      await extra?.close();
    },
  };
}

/** The --eval-data set, decoded like the training data `train` (its size, resize mode and channels,
 *  the same cache and memory limit), with its labels in the training data's class order. */
async function openEvalData(o: TrainOptions, train: StoredDataset, mode: ResizeMode, progress: Progress): Promise<StoredDataset> {
  const [, h, w, c] = train.shape;
  const test = await openDataset(o.evalData, {
    imageSize: [h, w],
    resize: mode,
    channels: c,
    cacheDir: o.cacheDir === '' ? undefined : (o.cacheDir ?? defaultCacheDir()),
    maxMemory: (o.maxMemory ?? defaultMaxMemoryMB()) * 2 ** 20,
    log: (line) => progress.log(`--eval-data: ${line}`),
  });
  if (test.shape[0] === 0) throw new UserError(`--eval-data ${o.evalData}: no images`);
  if ((o.dataWorkers ?? 1) === 0 && test.store.kind === 'file') throw new UserError('--data-workers 0 needs the --eval-data images in memory; they are streamed from the cache file (raise --max-memory)');
  try {
    return alignClasses(test, train.classNames);
  } catch (error) {
    throw new UserError(`--eval-data ${o.evalData}: ${(error as Error).message.replace("the model's", "the training data's")}`);
  }
}
