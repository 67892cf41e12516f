// Seeded data augmentation on plain pixel arrays (NHWC float32 in [0, 1]): no tensors and no
// TensorFlow.js import, so that the batch workers (src/data/pipeline-worker.ts) and the browser can
// run it. `augment` in augment.ts is the same on a tensor.
import { padCropFlip } from './crop.js';
import { mulberry32 } from './random.js';
import { DataError } from './types.js';

export interface AugmentOptions {
  /** Max shift, as a fraction of the width (x) and height (y); e.g. 0.1. */
  shift?: number;
  /** Max rotation about the image centre, in degrees. */
  rotation?: number;
  /** Max additive brightness change, in [0, 1] pixel units. */
  brightness?: number;
  /** Max relative contrast change: factor drawn in [1 - contrast, 1 + contrast]. */
  contrast?: number;
  /** Mirror left-right with probability 1/2. */
  flip?: boolean;
  /** Pad by this many zero pixels and crop back at a random whole-pixel offset (src/data/crop.ts); 0 = off. */
  crop?: number;
}

/** One image's random draw. */
export interface AugmentParams {
  flip: boolean;
  /** Radians. */
  angle: number;
  /** Pixels, positive = content moves right / down. */
  shiftX: number;
  shiftY: number;
  brightnessDelta: number;
  contrastFactor: number;
}

export function checkAugmentOptions(o: AugmentOptions): void {
  const inRange = (name: string, value: number | undefined, max: number, maxIncluded: boolean) => {
    if (value !== undefined && !(value >= 0 && (maxIncluded ? value <= max : value < max))) {
      throw new DataError(`augmentation ${name} must be in [0, ${max}${maxIncluded ? ']' : ')'}, got ${value}`);
    }
  };
  inRange('shift', o.shift, 1, false);
  inRange('rotation (degrees)', o.rotation, 180, true);
  inRange('brightness', o.brightness, 1, true);
  inRange('contrast', o.contrast, 1, false);
}

/** Draws every image's parameters; six draws per image whatever the options, so turning one
 *  option on or off does not change the others' draws. */
export function drawAugmentParams(count: number, height: number, width: number, o: AugmentOptions, seed: number): AugmentParams[] {
  const random = mulberry32(seed);
  const symmetric = (max: number) => (2 * random() - 1) * max;
  return Array.from({ length: count }, () => {
    const flip = random() < 0.5 && (o.flip ?? false);
    return {
      flip,
      angle: (symmetric(o.rotation ?? 0) * Math.PI) / 180,
      shiftX: symmetric((o.shift ?? 0) * width),
      shiftY: symmetric((o.shift ?? 0) * height),
      brightnessDelta: symmetric(o.brightness ?? 0),
      contrastFactor: 1 + symmetric(o.contrast ?? 0),
    };
  });
}

/**
 * The projective transform [a0, a1, a2, b0, b1, b2, c0, c1] (tf.image.transform's convention:
 * output pixel (x, y) reads input (a0 x + a1 y + a2, b0 x + b1 y + b2)) of flip, then rotation
 * about the centre, then shift: input = F(R(-angle)(output - centre - shift)) + centre.
 */
export function inverseAffine(p: AugmentParams, height: number, width: number): number[] {
  const [cx, cy] = [(width - 1) / 2, (height - 1) / 2];
  const [cos, sin] = [Math.cos(p.angle), Math.sin(p.angle)];
  const f = p.flip ? -1 : 1;
  const [ux, uy] = [-cx - p.shiftX, -cy - p.shiftY];
  return [f * cos, f * sin, f * (cos * ux + sin * uy) + cx, -sin, cos, -sin * ux + cos * uy + cy, 0, 0];
}

/** Bilinear resampling of one HWC image through `m`; points outside take the nearest edge pixel. */
function warp(src: Float32Array, dst: Float32Array, height: number, width: number, channels: number, m: number[]): void {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inX = Math.min(Math.max(m[0] * x + m[1] * y + m[2], 0), width - 1);
      const inY = Math.min(Math.max(m[3] * x + m[4] * y + m[5], 0), height - 1);
      const [x0, y0] = [Math.floor(inX), Math.floor(inY)];
      const [x1, y1] = [Math.min(x0 + 1, width - 1), Math.min(y0 + 1, height - 1)];
      const [fx, fy] = [inX - x0, inY - y0];
      const out = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number) => src[(yy * width + xx) * channels + c];
        const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        dst[out + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
}

/** Mixed into the batch's seed for the padded crops' draws. */
const CROP_SEED = 0x9e3779b9;

/**
 * Augments NHWC pixels (not modified); returns new pixels clipped to [0, 1]. Padded crops (and, with
 * them, the flips) come first, from a seed of their own (src/data/crop.ts); the other settings follow.
 */
export function augmentPixels(pixels: Float32Array, shape: [number, number, number, number], options: AugmentOptions, seed: number): Float32Array {
  checkAugmentOptions(options);
  let rest = options;
  if ((options.crop ?? 0) > 0) {
    pixels = padCropFlip(pixels, shape, options.crop!, options.flip ?? false, (seed ^ CROP_SEED) >>> 0);
    rest = { ...options, flip: false };
    // Whole-pixel crops of [0, 1] pixels stay in [0, 1]: nothing else to do.
    if (!rest.shift && !rest.rotation && !rest.brightness && !rest.contrast) return pixels;
  }
  return applyAugmentParams(pixels, shape, drawAugmentParams(shape[0], shape[1], shape[2], rest, seed));
}

/** Applies one drawn parameter set per image: warp, then contrast, then brightness, then clip to [0, 1]. */
export function applyAugmentParams(pixels: Float32Array, shape: [number, number, number, number], params: AugmentParams[]): Float32Array {
  const [n, height, width, channels] = shape;
  const imageLength = height * width * channels;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < n; i++) {
    const p = params[i];
    const src = pixels.subarray(i * imageLength, (i + 1) * imageLength);
    const dst = out.subarray(i * imageLength, (i + 1) * imageLength);
    if (p.flip || p.angle !== 0 || p.shiftX !== 0 || p.shiftY !== 0) warp(src, dst, height, width, channels, inverseAffine(p, height, width));
    else dst.set(src);
    // Contrast scales each channel's deviation from its mean; brightness then adds a constant.
    const means = new Float64Array(channels);
    if (p.contrastFactor !== 1) for (let j = 0; j < imageLength; j++) means[j % channels] += dst[j];
    for (let c = 0; c < channels; c++) means[c] /= height * width;
    for (let j = 0; j < imageLength; j++) {
      let value = dst[j];
      if (p.contrastFactor !== 1) value = (value - means[j % channels]) * p.contrastFactor + means[j % channels];
      dst[j] = Math.min(Math.max(value + p.brightnessDelta, 0), 1);
    }
  }
  return out;
}
