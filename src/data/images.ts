// Image decoding shared by the folder reader, the HDF5/MNIST resizer and prediction: every image
// goes through the same steps (decode, orient, drop alpha, sRGB, resize by a mode, set channels), so
// training and prediction see pixels prepared identically. Large JPEGs are shrunk while they are
// decoded (libvips's shrink-on-load), so a huge photo is never held at full size.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { imageSize } from 'image-size';
import sharp, { type OutputInfo, type ResizeOptions } from 'sharp';
import { levelsToUnit } from './assemble.js';
import { decodePlainJpegs } from './jpeg.js';
import { MAX_INPUT_PIXELS } from '../limits.js';
import { checkImagesMemory } from '../io/memory.js';
import { DataError, RESIZE_MODES, type ResizeMode } from './types.js';

/** File extensions the folder reader and `loadImages` accept (compared lower-case). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

/** Images decoded at the same time (sharp decodes on libuv's worker threads). */
export const DECODE_CONCURRENCY = 8;

/** Bytes read to find an image's size in its header; a JPEG's EXIF block may push its frame header this far. */
const HEADER_BYTES = 64 * 1024;

// Each file is decoded once: libvips's operation cache would only hold memory. One libvips thread
// per image, with DECODE_CONCURRENCY images in flight, decoded small images 20-25% faster here than
// libvips's default of one thread per core for each image.
sharp.cache(false);
sharp.concurrency(1);

/** 8-bit pixels, HWC, 1 (grey) or 3 (RGB) channels. */
export interface RawImage {
  pixels: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** Throws a DataError unless size is [height, width] in positive integers, channels is 1 or 3 and resize a known mode. */
export function checkImageOptions(size: [number, number] | undefined, channels: number | undefined, resize?: string): void {
  if (size !== undefined && (size.length !== 2 || !size.every((s) => Number.isInteger(s) && s > 0))) {
    throw new DataError(`image size must be two positive integers [height, width], got [${size.join(', ')}]`);
  }
  if (channels !== undefined && channels !== 1 && channels !== 3) {
    throw new DataError(`channels must be 1 (greyscale) or 3 (RGB), got ${channels}`);
  }
  if (resize !== undefined && !(RESIZE_MODES as readonly string[]).includes(resize)) {
    throw new DataError(`resize mode must be one of ${RESIZE_MODES.join(', ')}, got '${resize}'`);
  }
}

const FIT = { squash: 'fill', crop: 'cover', pad: 'contain' } as const;

/** sharp's resize options for a mode: stretch ('fill'), centre crop ('cover') or black letterbox ('contain'). */
function resizeOptions(size: [number, number], mode: ResizeMode): ResizeOptions {
  return { height: size[0], width: size[1], fit: FIT[mode], position: 'centre', background: { r: 0, g: 0, b: 0, alpha: 1 } };
}

const isJpeg = (bytes: Uint8Array) => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;

/**
 * The most pixels an image may declare when it is decoded to `size`. A JPEG at least 4 times larger
 * than the target on both sides is shrunk while it is decoded (libvips's shrink-on-load, by 2, 4 or
 * 8 per side); counting the shrink one power of two short of libvips's choice, what is decoded stays
 * within MAX_INPUT_PIXELS. Every other image (PNG, or a JPEG not reduced) is held to MAX_INPUT_PIXELS.
 */
function pixelLimit(bytes: Uint8Array, size?: [number, number]): number {
  const stored = size && isJpeg(bytes) ? headerSize(bytes) : undefined;
  if (!size || !stored) return MAX_INPUT_PIXELS;
  const ratio = Math.min(stored[0] / size[0], stored[1] / size[1]);
  const shrink = ratio >= 16 ? 8 : ratio >= 8 ? 4 : ratio >= 4 ? 2 : 1;
  return MAX_INPUT_PIXELS * shrink * shrink;
}

/** sharp on an encoded image, refusing from its header (before decoding) one larger than pixelLimit allows. */
function openImage(bytes: Uint8Array, size?: [number, number]) {
  return sharp(bytes, { limitInputPixels: pixelLimit(bytes, size) });
}

async function unreadable(file: string, error: unknown, bytes?: Uint8Array): Promise<DataError> {
  if (error instanceof DataError) return error;
  if (/exceeds pixel limit/.test((error as Error).message)) {
    // Read the header alone (no decoding) to name the size.
    const size = bytes && headerSize(bytes);
    const named = size ? `${size[1]}x${size[0]} pixels` : 'too large';
    return new DataError(`${file}: image is ${named}, more than the ${Math.round(MAX_INPUT_PIXELS / 1e6)} megapixels allowed`);
  }
  const reason = (error as Error).message.split('\n')[0];
  return new DataError(`${file}: not a readable JPEG/PNG image (${reason})`);
}

/** [height, width] as displayed (EXIF orientation applied), from the image's first bytes; undefined when the header does not say. */
export function headerSize(bytes: Uint8Array): [number, number] | undefined {
  try {
    const { width, height, orientation } = imageSize(bytes);
    if (width === undefined || height === undefined || !(width > 0 && height > 0)) return undefined;
    // EXIF orientations 5-8 turn the image a quarter, so its displayed height is its stored width.
    return (orientation ?? 1) >= 5 ? [width, height] : [height, width];
  } catch {
    return undefined;
  }
}

/**
 * Opens an image file for reading; a missing path, a folder, a device or a pipe is a DataError. The
 * open does not block (O_NONBLOCK), so a pipe named like an image cannot hang the reader.
 */
async function openImageFile(file: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(code === 'EISDIR' ? `${file}: not a file` : code === 'ENOENT' || code === 'ENOTDIR' ? `${file}: no such file` : `${file}: cannot read (${code ?? (error as Error).message})`);
  }
  const info = await handle.stat().catch(() => undefined);
  if (!info?.isFile()) {
    await handle.close();
    throw new DataError(`${file}: not a file`);
  }
  return handle;
}

/** Reads an image file whole; a missing path, a folder, a device or a pipe is a DataError. */
export async function readImageBytes(file: string): Promise<Buffer> {
  const handle = await openImageFile(file);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** What libvips reads from the header: the displayed size and whether the image is greyscale. */
export async function describeImage(bytes: Uint8Array, file: string): Promise<{ size: [number, number]; channels: 1 | 3 }> {
  try {
    // The header alone: nothing is decoded, so no pixel limit applies here (decodeImage holds to it).
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    const stored = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    return { size: [meta.autoOrient.height, meta.autoOrient.width], channels: stored === 1 ? 1 : 3 };
  } catch (error) {
    throw await unreadable(file, error, bytes);
  }
}

/** The displayed size of an image file, from its header only (the first 64 KB; libvips when that is not enough). */
export async function readStoredSize(file: string): Promise<[number, number]> {
  const handle = await openImageFile(file);
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, HEADER_BYTES, 0);
    const size = headerSize(head.subarray(0, bytesRead));
    if (size) return size;
  } finally {
    await handle.close();
  }
  return (await describeImage(await readImageBytes(file), file)).size;
}

/**
 * Decodes a JPEG/PNG held in `bytes` (read from `file`, named in errors): EXIF orientation applied,
 * alpha dropped (not composited, as Keras's load_img does), converted to 8-bit sRGB, resized to
 * `size` ([height, width]) by `mode` when it differs (libvips's default Lanczos-3 kernel; a JPEG is
 * first shrunk by a power of two while decoding), then set to `channels` (convertChannels).
 */
export async function decodeImage(bytes: Uint8Array, file: string, channels: 1 | 3, size?: [number, number], mode: ResizeMode = 'squash'): Promise<RawImage> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    const image = openImage(bytes, size).autoOrient().removeAlpha().toColourspace('srgb');
    if (size) image.resize(resizeOptions(size, mode));
    raw = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw await unreadable(file, error, bytes);
  }
  const { data, info } = raw;
  const rgb = keepChannels(new Uint8Array(data.buffer, data.byteOffset, data.length), info.channels, 3);
  return { pixels: convertChannels(rgb, 3, channels), height: info.height, width: info.width, channels };
}

/**
 * Decodes an image file keeping its own channel count (1 for a greyscale file, 3 for anything else),
 * resized to `size` by `mode` when given and different.
 */
export async function decodeImageFile(file: string, size?: [number, number], mode: ResizeMode = 'squash'): Promise<RawImage> {
  const bytes = await readImageBytes(file);
  const { channels } = await describeImage(bytes, file);
  return decodeImage(bytes, file, channels, size, mode);
}

/** The first `keep` of every `stride` values (sharp may add bands, e.g. for 1-channel raw input). */
function keepChannels(pixels: Uint8Array, stride: number, keep: number): Uint8Array {
  if (stride === keep) return pixels;
  const out = new Uint8Array((pixels.length / stride) * keep);
  for (let p = 0, q = 0; p < out.length; p += keep, q += stride) for (let c = 0; c < keep; c++) out[p + c] = pixels[q + c];
  return out;
}

/** Resizes 8-bit HWC pixels to `size` ([height, width]) by `mode`, with the same kernel as decodeImage. */
export async function resizeRaw(image: RawImage, size: [number, number], mode: ResizeMode = 'squash'): Promise<RawImage> {
  if (image.height === size[0] && image.width === size[1]) return image;
  const { data, info } = await sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } })
    .resize(resizeOptions(size, mode))
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const pixels = keepChannels(new Uint8Array(data.buffer, data.byteOffset, data.length), info.channels, image.channels);
  return { pixels, height: size[0], width: size[1], channels: image.channels };
}

/**
 * Converts between 1 and 3 channels: grey -> RGB copies the value; RGB -> grey is ITU-R 601-2 luma
 * in PIL's fixed-point form, (19595 R + 38470 G + 7471 B + 2^15) >> 16, so it matches Keras/PIL.
 * (The weights sum to 2^16, so a grey pixel copied to RGB and back is unchanged.)
 */
export function convertChannels(pixels: Uint8Array, from: number, to: number): Uint8Array {
  if (from === to) return pixels;
  const count = pixels.length / from;
  const out = new Uint8Array(count * to);
  if (from === 1 && to === 3) {
    for (let i = 0; i < count; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = pixels[i];
  } else if (from === 3 && to === 1) {
    for (let i = 0; i < count; i++) {
      out[i] = (19595 * pixels[3 * i] + 38470 * pixels[3 * i + 1] + 7471 * pixels[3 * i + 2] + 0x8000) >> 16;
    }
  } else {
    throw new RangeError(`convertChannels: cannot convert ${from} to ${to} channels`);
  }
  return out;
}

/** Runs `task` on every item with at most `limit` running at once; results keep the input order. */
export async function mapConcurrent<T, R>(items: readonly T[], task: (item: T, index: number) => Promise<R>, limit = DECODE_CONCURRENCY): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** 8-bit pixels in a SharedArrayBuffer, so that batch worker threads read them without a copy. */
export function sharedLevels(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/**
 * Decodes image files for prediction exactly as the folder reader does: resized to imageSize
 * ([height, width]) by `resize`, forced to `channels` (1 or 3). Returns NHWC float32 pixels / 255.
 */
export async function loadImages(paths: string[], imageSize: [number, number], channels: number, resize: ResizeMode = 'squash'): Promise<Float32Array> {
  checkImageOptions(imageSize, channels, resize);
  const imageLength = imageSize[0] * imageSize[1] * channels;
  checkImagesMemory('the images to predict', paths.length, imageSize[0], imageSize[1], channels, 4);
  const out = new Float32Array(paths.length * imageLength);
  for (const path of paths) {
    if (!isImageFile(path)) throw new DataError(`${path}: unsupported image file extension '${extname(path)}' (expected ${IMAGE_EXTENSIONS.join(', ')})`);
  }
  // As the folder reader: JPEGs stored at imageSize by libjpeg-turbo (src/data/jpeg.ts), the rest by sharp.
  const taken = await decodePlainJpegs(paths, imageSize, (i, rgb) => levelsToUnit(convertChannels(rgb, 3, channels), out, i * imageLength));
  const rest = paths.flatMap((_, i) => (taken[i] ? [] : [i]));
  await mapConcurrent(rest, async (i) => {
    const image = await decodeImage(await readImageBytes(paths[i]), paths[i], channels as 1 | 3, imageSize, resize);
    levelsToUnit(image.pixels, out, i * imageLength);
  });
  return out;
}
