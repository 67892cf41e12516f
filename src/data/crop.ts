// Padded random crops, the CIFAR augmentation of He et al. (2015) section 4.2: "4 pixels are padded
// on each side, and a 32x32 crop is randomly sampled from the padded image or its horizontal flip".
// Offsets are whole pixels and the padding is zeros, so every output pixel is an input pixel or 0;
// no resampling (unlike `augment`'s shifts, which are bilinear and replicate the edges).
import { mulberry32 } from './random.js';
import { DataError } from './types.js';

/** One image's draw: the crop window's offset in the padded image, in pixels [0, 2 * padding], and the mirror. */
export interface CropParams {
  top: number;
  left: number;
  flip: boolean;
}

/** Three draws per image (row, column, flip), whatever `flip` says, so that turning flips on or off keeps the offsets. */
export function drawCropParams(count: number, padding: number, flip: boolean, seed: number): CropParams[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const top = Math.floor(random() * (2 * padding + 1));
    const left = Math.floor(random() * (2 * padding + 1));
    return { top, left, flip: random() < 0.5 && flip };
  });
}

/**
 * Applies one draw per image to NHWC pixels (not modified): output pixel (y, x) of image i is input
 * pixel (y + top - padding, x' + left - padding), where x' = width - 1 - x when mirrored, else x, and
 * 0 where that falls outside the image.
 */
export function applyCrops(pixels: Float32Array, shape: readonly [number, number, number, number], padding: number, params: readonly CropParams[]): Float32Array {
  const [n, height, width, channels] = shape;
  if (params.length !== n) throw new RangeError(`applyCrops: ${params.length} draws for ${n} images`);
  const imageLength = height * width * channels;
  const out = new Float32Array(n * imageLength); // zeros: the padding
  for (let i = 0; i < n; i++) {
    const { top, left, flip } = params[i];
    const [dy, dx] = [top - padding, left - padding];
    const base = i * imageLength;
    for (let y = Math.max(0, -dy); y < Math.min(height, height - dy); y++) {
      const src = base + (y + dy) * width * channels;
      const dst = base + y * width * channels;
      // Output columns x whose source column x + dx lies inside the image.
      const [x0, x1] = [Math.max(0, -dx), Math.min(width, width - dx)];
      if (!flip) {
        out.set(pixels.subarray(src + (x0 + dx) * channels, src + (x1 + dx) * channels), dst + x0 * channels);
        continue;
      }
      // Mirrored: the cropped row, read right to left (crop then flip = flip then crop at -dx).
      for (let x = x0; x < x1; x++) {
        const from = src + (x + dx) * channels;
        const to = dst + (width - 1 - x) * channels;
        for (let c = 0; c < channels; c++) out[to + c] = pixels[from + c];
      }
    }
  }
  return out;
}

/** Pads every image of NHWC `pixels` by `padding` zero pixels on each side and crops a random window of the original size; flip mirrors half of them. */
export function padCropFlip(pixels: Float32Array, shape: readonly [number, number, number, number], padding: number, flip: boolean, seed: number): Float32Array {
  if (!Number.isInteger(padding) || padding < 0 || padding >= Math.min(shape[1], shape[2])) {
    throw new DataError(`crop padding must be a whole number of pixels in [0, ${Math.min(shape[1], shape[2])}), got ${padding}`);
  }
  return applyCrops(pixels, shape, padding, drawCropParams(shape[0], padding, flip, seed));
}

/**
 * Every image of NHWC `pixels` with its pixels moved: output pixel (y, x) is input pixel
 * (rowFrom[y], columnFrom[x]) of the same image, all channels; a new array.
 */
function remapImages(pixels: Float32Array, shape: readonly [number, number, number, number], rowFrom: readonly number[], columnFrom: readonly number[]): Float32Array {
  const [n, height, width, channels] = shape;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < n; i++) {
    const image = i * height * width * channels;
    for (let y = 0; y < height; y++) {
      const fromRow = image + rowFrom[y] * width * channels;
      const toRow = image + y * width * channels;
      for (let x = 0; x < width; x++) {
        const from = fromRow + columnFrom[x] * channels;
        const to = toRow + x * channels;
        for (let c = 0; c < channels; c++) out[to + c] = pixels[from + c];
      }
    }
  }
  return out;
}

const indices = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

/** Mirrors every image of NHWC `pixels` left-right (test-time augmentation); a new array. */
export function mirrorImages(pixels: Float32Array, shape: readonly [number, number, number, number]): Float32Array {
  const [, height, width] = shape;
  return remapImages(pixels, shape, indices(height, (y) => y), indices(width, (x) => width - 1 - x));
}

/** PyTorch's 'reflect' padding of index i into [0, n): the border pixel is not repeated (-1 reads 1, n reads n - 2). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const j = ((i % period) + period) % period;
  return j < n ? j : period - j;
}

/**
 * Every image of NHWC `pixels` moved `dy` rows down and `dx` columns right (negative: up, left), the
 * uncovered border filled by reflection (airbench's translation test-time augmentation: a crop of
 * the reflect-padded image).
 */
export function shiftImages(pixels: Float32Array, shape: readonly [number, number, number, number], dy: number, dx: number): Float32Array {
  const [, height, width] = shape;
  return remapImages(pixels, shape, indices(height, (y) => reflect(y - dy, height)), indices(width, (x) => reflect(x - dx, width)));
}
