// Reads a folder of images laid out as <root>/<class name>/<image>.jpg|png (Keras's
// image_dataset_from_directory layout). Class names are the sub-folder names in code-point order
// (Python's sorted()), so label i is the i-th name.
import { statSync, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { cacheKey, CacheWriter, findCached, readPixels } from './cache.js';
import {
  checkImageOptions,
  convertChannels,
  decodeImage,
  describeImage,
  headerSize,
  IMAGE_EXTENSIONS,
  isImageFile,
  mapConcurrent,
  readImageBytes,
  readStoredSize,
  sharedLevels,
} from './images.js';
import { decodePlainJpegs, nativeJpegVersion, plainJpegSizes } from './jpeg.js';
import { MAX_CLASSES } from '../limits.js';
import { checkImagesMemory } from '../io/memory.js';
import { balancedSelection } from './select.js';
import type { ReadOptions, SizeChoice, StoredDataset } from './store.js';
import { DataError } from './types.js';

/** The size chosen from the data itself (no --image-size, no model size) is at most this many
 *  pixels on its longer side: a folder of phone photos trains at a size a CPU can afford. */
export const AUTO_SIZE_MAX = 256;
/** Files whose header is read at the same time. */
const STAT_CONCURRENCY = 64;

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const noticeOnStderr = (line: string) => void process.stderr.write(`resnet: note: ${line}\n`);

/**
 * The class folders among `root`'s entries. A symbolic link to a folder is followed, as Keras's
 * image_dataset_from_directory does: linking folders together is a common way to assemble a data set,
 * and the user named the root. It is never dropped in silence: `notice` names the links followed, and
 * a link that leads nowhere is an error (it was probably meant as a class).
 */
async function classFolders(root: string, entries: Dirent[], notice: (line: string) => void): Promise<string[]> {
  const names: string[] = [];
  const linked: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory()) names.push(entry.name);
    else if (entry.isSymbolicLink()) {
      const info = await stat(join(root, entry.name)).catch((error: NodeJS.ErrnoException) => {
        throw new DataError(`${join(root, entry.name)}: broken symbolic link (${error.code === 'ELOOP' ? 'a loop' : 'its target is missing'})`);
      });
      if (info.isDirectory()) {
        names.push(entry.name);
        linked.push(entry.name);
      }
    }
  }
  if (names.length > MAX_CLASSES) throw new DataError(`${root}: ${names.length} class folders, more than the ${MAX_CLASSES} classes allowed`);
  if (linked.length > 0) notice(`${root}: followed ${linked.length} class folder${linked.length > 1 ? 's' : ''} that ${linked.length > 1 ? 'are symbolic links' : 'is a symbolic link'}: ${linked.sort(byCodePoint).join(', ')}`);
  return names;
}

/** Lists the class folders and their image files; every problem with the layout is a DataError. */
async function listImageFiles(root: string, notice: (line: string) => void): Promise<{ classNames: string[]; files: string[]; labels: number[] }> {
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const classNames = (await classFolders(root, entries, notice)).sort(byCodePoint);
  if (classNames.length === 0) {
    throw new DataError(`${root}: ${entries.length === 0 ? 'empty folder' : 'no class sub-folders'} (expected one sub-folder of JPEG/PNG images per class)`);
  }
  const files: string[] = [];
  const labels: number[] = [];
  for (const [label, name] of classNames.entries()) {
    const folder = join(root, name);
    const names = (await readdir(folder, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
    for (const entry of names) {
      const file = join(folder, entry.name);
      if (entry.isDirectory()) throw new DataError(`${file}: nested folders are not supported (put the images directly in ${folder})`);
      if (!isImageFile(entry.name)) {
        throw new DataError(`${file}: unsupported image file extension '${extname(entry.name)}' (expected ${IMAGE_EXTENSIONS.join(', ')})`);
      }
      // A pipe or device named like an image would hang or flood the reader; a link must lead to a file.
      if (!entry.isFile() && !(await stat(file).catch(() => undefined))?.isFile()) throw new DataError(`${file}: not a file`);
    }
    const images = names.map((e) => e.name).sort(byCodePoint);
    if (images.length === 0) throw new DataError(`${folder}: class folder '${name}' has no images`);
    for (const image of images) {
      files.push(join(folder, image));
      labels.push(label);
    }
  }
  return { classNames, files, labels };
}

/**
 * The most common [height, width] among `sizes` (ties: the first seen), scaled down to
 * AUTO_SIZE_MAX pixels on its longer side when larger, with the reason said in the notice.
 */
export function dominantSize(sizes: readonly [number, number][]): SizeChoice {
  const counts = new Map<string, number>();
  let best: [number, number] = sizes[0];
  let bestCount = 0;
  for (const size of sizes) {
    const key = `${size[0]}x${size[1]}`;
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    if (count > bestCount) [best, bestCount] = [size, count];
  }
  const longer = Math.max(...best);
  if (longer <= AUTO_SIZE_MAX) return { size: best, reason: 'the most common size' };
  const scaled: [number, number] = [Math.max(1, Math.round((best[0] * AUTO_SIZE_MAX) / longer)), Math.max(1, Math.round((best[1] * AUTO_SIZE_MAX) / longer))];
  return { size: scaled, reason: `the most common size, ${best[0]}x${best[1]}, scaled to ${AUTO_SIZE_MAX} pixels on its longer side` };
}

/** Whether a data set of `shape` (8-bit levels) fits the memory this process may use (src/io/memory.ts). */
function fitsInMemory(root: string, shape: readonly number[]): boolean {
  try {
    checkImagesMemory(root, shape[0], shape[1], shape[2], shape[3], 1);
    return true;
  } catch {
    return false;
  }
}

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 24 ? 1 : 0)} MB`;

/**
 * Decodes every image of the folder to one size: options.imageSize, else options.defaultSize (the
 * model's input size), else the most common stored size (dominantSize). Images of another size are
 * resized by options.resize, and one notice line (options.log) says how many. Without
 * options.channels the first image decides between greyscale (1) and RGB (3).
 *
 * With options.cacheDir the decoded pixels are kept there, keyed on the files (paths, sizes,
 * modification times) and the options, and read back by the next call instead of decoding. When they
 * take more than options.maxMemory bytes they stay in the cache file (the store is a file) and are
 * never all in memory: not while decoding, not after.
 */
export async function readImageFolder(root: string, options: ReadOptions = {}): Promise<StoredDataset> {
  checkImageOptions(options.imageSize, options.channels, options.resize);
  const mode = options.resize ?? 'squash';
  const log = options.log ?? (() => {});
  const maxMemory = options.maxMemory ?? Infinity;
  const listing = await listImageFiles(root, options.onNotice ?? noticeOnStderr);
  const chosen = balancedSelection(listing.labels, listing.classNames.length, options.limit);
  const files = chosen.map((i) => listing.files[i]);
  const labels = Int32Array.from(chosen, (i) => listing.labels[i]);
  const classNames = listing.classNames;

  let key: string | undefined;
  if (options.cacheDir !== undefined) {
    // Synchronous stats: 2-3x faster than 50,000 promise-based ones, and nothing else waits meanwhile.
    const stats = files.map((file) => {
      try {
        return statSync(file);
      } catch {
        throw new DataError(`${file}: no such file`);
      }
    });
    key = cacheKey({
      root: resolve(root),
      files: files.map((file, i) => [relative(root, file), stats[i].size, Math.round(stats[i].mtimeMs)]), // whole milliseconds (rounded: utimes goes through float seconds, which may land a hair below)
      options: { imageSize: options.imageSize, defaultSize: options.imageSize ? undefined : options.defaultSize?.size, resize: mode, channels: options.channels },
      decoder: { sharp: sharp.versions, jpeg: nativeJpegVersion() },
    });
    const started = performance.now();
    const hit = await findCached(options.cacheDir, key);
    if (hit) {
      const [n, h, w, c] = hit.entry.shape;
      const bytes = n * h * w * c;
      if (hit.entry.notice) log(hit.entry.notice);
      const store = bytes > maxMemory || !fitsInMemory(root, hit.entry.shape) ? ({ kind: 'file', path: hit.pixels, offset: 0 } as const) : { kind: 'memory' as const, levels: await readPixels(hit.pixels, bytes, sharedLevels(bytes)) };
      log(`${root}: ${n} decoded images (${megabytes(bytes)}) ${store.kind === 'file' ? 'streamed' : `read in ${((performance.now() - started) / 1000).toFixed(1)} s`} from the cache ${hit.pixels}`);
      return { store, labels: Int32Array.from(hit.entry.labels), shape: hit.entry.shape, classNames: hit.entry.classNames, source: root, resize: mode };
    }
  }

  // The size: asked for, the model's, or the data's most common one (from the headers alone).
  let target: SizeChoice | undefined = options.imageSize ? { size: options.imageSize, reason: '' } : options.defaultSize;
  let storedSizes: [number, number][] | undefined;
  if (!target) {
    // Plain JPEGs' headers read by libjpeg-turbo (src/data/jpeg.ts), the rest by image-size / libvips.
    const plain = await plainJpegSizes(files);
    storedSizes = await mapConcurrent(files, async (file, i) => plain[i] ?? readStoredSize(file), STAT_CONCURRENCY);
    target = dominantSize(storedSizes);
  }
  const [height, width] = target.size;
  const channels = (options.channels ?? (await describeImage(await readImageBytes(files[0]), files[0])).channels) as 1 | 3;
  const imageLength = height * width * channels;
  const total = files.length * imageLength;

  let writer: CacheWriter | undefined;
  if (options.cacheDir !== undefined && key !== undefined) {
    writer = await CacheWriter.create(options.cacheDir, key).catch((error: NodeJS.ErrnoException) => {
      log(`cannot keep decoded images in ${options.cacheDir} (${error.code ?? error.message}); the next run decodes them again (--cache-dir chooses the folder)`);
      return undefined;
    });
  }
  // In memory when the pixels fit --max-memory and the memory this process may use (8-bit levels);
  // else streamed from the cache file, which needs a cache writer.
  const streaming = total > maxMemory || (writer !== undefined && !fitsInMemory(root, [files.length, height, width, channels]));
  if (!streaming) checkImagesMemory(root, files.length, height, width, channels, 1);
  if (streaming && !writer) {
    throw new DataError(
      `${root}: the decoded images take ${megabytes(total)}, more than the memory allowed (${megabytes(maxMemory)}, --max-memory); ` +
        'streaming them from disk needs a writable cache folder (--cache-dir)',
    );
  }
  const levels = streaming ? undefined : sharedLevels(total);
  let resized = 0;
  let example = -1;
  let done = 0;
  const started = performance.now();
  try {
    const keep = async (i: number, pixels: Uint8Array) => {
      if (levels) levels.set(pixels, i * imageLength);
      else await writer!.write(pixels, i * imageLength);
      options.onProgress?.(++done, files.length);
    };
    // JPEGs stored at the target size: libjpeg-turbo in the resnet_jpeg addon, the same pixels as
    // sharp's ~20x faster (src/data/jpeg.ts); sharp decodes the rest (resized, PNG, Exif, ICC, damaged).
    const taken = await decodePlainJpegs(files, [height, width], (i, rgb) => keep(i, convertChannels(rgb, 3, channels)));
    const rest = files.flatMap((_, i) => (taken[i] ? [] : [i]));
    await mapConcurrent(rest, async (i) => {
      const file = files[i];
      const bytes = await readImageBytes(file);
      const stored = storedSizes?.[i] ?? headerSize(bytes);
      if (stored && (stored[0] !== height || stored[1] !== width)) {
        resized++;
        if (example < 0 || i < example) example = i;
      }
      const image = await decodeImage(bytes, file, channels, [height, width], mode);
      if (image.height !== height || image.width !== width) throw new Error(`${file}: decoded at ${image.height}x${image.width}, not ${height}x${width}`);
      await keep(i, image.pixels);
    });
  } catch (error) {
    await writer?.abort();
    throw error;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);

  let notice: string | undefined;
  if (!options.imageSize && resized > 0) {
    const size = (storedSizes?.[example] ?? headerSize(await readImageBytes(files[example])) ?? []).join('x');
    notice =
      `resizing ${resized} of ${files.length} images to ${height}x${width}, ${target.reason} (--resize ${mode}; e.g. ${files[example]} is ${size}); ` +
      '--image-size chooses the size';
    log(notice);
  }
  let store: StoredDataset['store'] = { kind: 'memory', levels: levels! };
  if (writer) {
    try {
      if (levels) await writer.write(levels, 0);
      const path = await writer.commit({ shape: [files.length, height, width, channels], labels: Array.from(labels), classNames, notice });
      if (streaming) store = { kind: 'file', path, offset: 0 };
      log(`${root}: decoded ${files.length} images (${megabytes(total)}) in ${seconds} s; kept in the cache ${path}${streaming ? ', streamed from there' : ''}`);
    } catch (error) {
      await writer.abort();
      if (streaming) throw new DataError(`${root}: cannot write the decoded images to ${options.cacheDir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      log(`cannot keep decoded images in ${options.cacheDir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  return { store, labels, shape: [files.length, height, width, channels], classNames, source: root, resize: mode };
}
