// Photos to model inputs in the page: decoded by the browser (EXIF orientation applied), stretched
// to the model's input size as `resnet predict` does (sharp, fit 'fill'; at the same size, pixels
// pass unchanged), alpha dropped, greyscale by ITU-R 601-2 luma in PIL's fixed-point form
// (src/data/images.ts), scaled to [0, 1]. A display copy (DISPLAY_SIDE pixels on its longer side) is kept for
// the results and the heatmap.
import { UserError } from '../src/errors.js';

/** Longest side of a photo as shown in the page, pixels. */
export const DISPLAY_SIDE = 224;
/** Longest side of a fine-tuning thumbnail, pixels. */
export const THUMB_SIDE = 64;

export interface Picture {
  /** Model input, [h, w, c] in [0, 1]. */
  pixels: Float32Array;
  /** The same as 8-bit values (kept by the fine-tune panel to recompute features). */
  bytes: Uint8Array;
  /** The photo at display size (DISPLAY_SIDE on its longer side), and its RGBA pixels. */
  display: HTMLCanvasElement;
  rgba: Uint8ClampedArray;
}

type Source = CanvasImageSource & { width: number; height: number };

function canvas(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

function context(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser cannot draw on a canvas');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  return ctx;
}

/** `source` (width x height) drawn with `side` pixels on its longer side (smaller only, unless `enlarge`). */
export function scaled(source: CanvasImageSource, width: number, height: number, side: number, enlarge = false): HTMLCanvasElement {
  const k = enlarge ? side / Math.max(width, height) : Math.min(1, side / Math.max(width, height));
  const c = canvas(Math.max(1, Math.round(width * k)), Math.max(1, Math.round(height * k)));
  context(c).drawImage(source, 0, 0, c.width, c.height);
  return c;
}

/** Model input of `source` for input shape [h, w, channels]. */
export function toInput(source: CanvasImageSource, inputShape: [number, number, number]): { pixels: Float32Array; bytes: Uint8Array } {
  const [h, w, channels] = inputShape;
  const c = canvas(w, h);
  const ctx = context(c);
  ctx.drawImage(source, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const bytes = new Uint8Array(h * w * channels);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    if (channels === 1) bytes[i] = (19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16;
    else [bytes[3 * i], bytes[3 * i + 1], bytes[3 * i + 2]] = [r, g, b];
  }
  return { pixels: Float32Array.from(bytes, (v) => v / 255), bytes };
}

/** A picture of something already drawable (a webcam frame, a decoded image). */
export function pictureOf(source: Source, inputShape: [number, number, number]): Picture {
  const display = scaled(source, source.width, source.height, DISPLAY_SIDE, true);
  const rgba = context(display).getImageData(0, 0, display.width, display.height).data;
  return { ...toInput(source, inputShape), display, rgba };
}

/** Decodes an image file; a UserError when the browser cannot read it. */
export async function decode(file: Blob & { name?: string }): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  } catch {
    throw new UserError(`${file.name ?? 'file'}: not an image this browser can read`);
  }
}

/** A picture of an image file. */
export async function pictureOfFile(file: Blob & { name?: string }, inputShape: [number, number, number]): Promise<Picture> {
  const bitmap = await decode(file);
  try {
    return pictureOf(bitmap, inputShape);
  } finally {
    bitmap.close();
  }
}

/** A webcam frame as a drawable canvas of the video's size. */
export function frameOf(video: HTMLVideoElement): HTMLCanvasElement {
  const c = canvas(video.videoWidth, video.videoHeight);
  context(c).drawImage(video, 0, 0);
  return c;
}
