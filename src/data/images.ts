// Image decoding shared by the folder reader, the HDF5/MNIST resizer and prediction: every image
// goes through the same steps (decode, orient, drop alpha, resize, set channels), so training and
// prediction see pixels prepared identically.
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { MAX_INPUT_PIXELS } from '../limits.js';
import { checkImagesMemory } from '../io/memory.js';
import { DataError } from './types.js';

/** File extensions the folder reader and `loadImages` accept (compared lower-case). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

/** Images decoded at the same time (sharp decodes on libuv's worker threads). */
const DECODE_CONCURRENCY = 8;

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

/** Throws a DataError unless size is [height, width] in positive integers and channels is 1 or 3. */
export function checkImageOptions(size: [number, number] | undefined, channels: number | undefined): void {
  if (size !== undefined && (size.length !== 2 || !size.every((s) => Number.isInteger(s) && s > 0))) {
    throw new DataError(`image size must be two positive integers [height, width], got [${size.join(', ')}]`);
  }
  if (channels !== undefined && channels !== 1 && channels !== 3) {
    throw new DataError(`channels must be 1 (greyscale) or 3 (RGB), got ${channels}`);
  }
}

/**
 * Decodes a JPEG/PNG file: EXIF orientation applied, alpha dropped (not composited, as Keras's
 * load_img does), greyscale files kept at 1 channel and everything else converted to sRGB, then
 * resized to `size` ([height, width], stretched, libvips's default Lanczos-3 kernel) when it differs.
 */
export async function decodeImageFile(file: string, size?: [number, number]): Promise<RawImage> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new DataError(`${file}: no such file`);
  if (!info.isFile()) throw new DataError(`${file}: not a file`);
  try {
    // libvips refuses, from the header, an image larger than the limit before decoding it.
    const image = sharp(file, { limitInputPixels: MAX_INPUT_PIXELS }).autoOrient();
    const meta = await image.metadata();
    const storedChannels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    image.removeAlpha().toColourspace(storedChannels === 1 ? 'b-w' : 'srgb');
    if (size && (meta.autoOrient.height !== size[0] || meta.autoOrient.width !== size[1])) {
      image.resize({ height: size[0], width: size[1], fit: 'fill' });
    }
    const { data, info: out } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), height: out.height, width: out.width, channels: out.channels };
  } catch (error) {
    if (/exceeds pixel limit/.test((error as Error).message)) {
      // Read the header alone (no decoding) to name the size.
      const meta = await sharp(file, { limitInputPixels: false }).metadata().catch(() => null);
      const size = meta ? `${meta.width}x${meta.height} pixels` : 'too large';
      throw new DataError(`${file}: image is ${size}, more than the ${Math.round(MAX_INPUT_PIXELS / 1e6)} megapixels allowed`);
    }
    const reason = (error as Error).message.split('\n')[0];
    throw new DataError(`${file}: not a readable JPEG/PNG image (${reason})`);
  }
}


/** Resizes 8-bit HWC pixels to `size` ([height, width]) with the same kernel as decodeImageFile. */
export async function resizeRaw(image: RawImage, size: [number, number]): Promise<RawImage> {
  if (image.height === size[0] && image.width === size[1]) return image;
  const { data, info } = await sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } })
    .resize({ height: size[0], width: size[1], fit: 'fill' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  // sharp may add channels for 1-channel raw input; keep the first `channels` of each pixel.
  const pixels = new Uint8Array(size[0] * size[1] * image.channels);
  for (let p = 0, q = 0; p < pixels.length; p += image.channels, q += info.channels) {
    for (let c = 0; c < image.channels; c++) pixels[p + c] = data[q + c];
  }
  return { pixels, height: size[0], width: size[1], channels: image.channels };
}

/**
 * Converts between 1 and 3 channels: grey -> RGB copies the value; RGB -> grey is ITU-R 601-2 luma
 * in PIL's fixed-point form, (19595 R + 38470 G + 7471 B + 2^15) >> 16, so it matches Keras/PIL.
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

/** Writes 8-bit pixels / 255 into `target` from `offset`. */
export function writeScaled(pixels: Uint8Array, target: Float32Array, offset: number): void {
  for (let i = 0; i < pixels.length; i++) target[offset + i] = pixels[i] / 255;
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

/**
 * Decodes image files for prediction exactly as the folder reader does: resized to imageSize
 * ([height, width]), forced to `channels` (1 or 3). Returns NHWC float32 pixels / 255.
 */
export async function loadImages(paths: string[], imageSize: [number, number], channels: number): Promise<Float32Array> {
  checkImageOptions(imageSize, channels);
  const imageLength = imageSize[0] * imageSize[1] * channels;
  checkImagesMemory('the images to predict', paths.length, imageSize[0], imageSize[1], channels, 4);
  const out = new Float32Array(paths.length * imageLength);
  await mapConcurrent(paths, async (path, i) => {
    if (!isImageFile(path)) throw new DataError(`${path}: unsupported image file extension '${extname(path)}' (expected ${IMAGE_EXTENSIONS.join(', ')})`);
    const image = await decodeImageFile(path, imageSize);
    writeScaled(convertChannels(image.pixels, image.channels, channels), out, i * imageLength);
  });
  return out;
}
