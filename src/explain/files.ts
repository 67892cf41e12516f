// Grad-CAM for image files (Node: sharp): each image is prepared for the model exactly as
// `resnet predict` prepares it, explained (gradcam.ts), and its map is drawn over the original photo
// (oriented, at most OVERLAY_MAX_SIDE pixels on its longer side) into a PNG.
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { loadImages } from '../data/images.js';
import type { ModelMetadata } from '../train/checkpoint.js';
import { gradCam, gradCamParts, overlay } from './gradcam.js';

/** Longest side of an overlay PNG, pixels (larger photos are shrunk to it). */
export const OVERLAY_MAX_SIDE = 512;

export interface Explained {
  image: string;
  class: string;
  probability: number;
  layer: string;
  overlay: string;
}

/** Output names: <name>.gradcam.png, with -2, -3 ... when two images share a name. */
function outputNames(images: string[]): string[] {
  const seen = new Map<string, number>();
  return images.map((image) => {
    const stem = basename(image, extname(image));
    const count = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, count);
    return `${stem}${count > 1 ? `-${count}` : ''}.gradcam.png`;
  });
}

/** Explains `images` with `model`, writing one overlay PNG per image into `outDir`. */
export async function explainFiles(model: tf.LayersModel, metadata: ModelMetadata, images: string[], outDir: string, classIndex?: number): Promise<Explained[]> {
  const [h, w, c] = metadata.inputShape;
  const pixels = await loadImages(images, [h, w], c);
  await mkdir(outDir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot create the output folder '${outDir}' (${error.code ?? error.message})`);
  });
  const parts = gradCamParts(model);
  const names = outputNames(images);
  const results: Explained[] = [];
  for (const [i, image] of images.entries()) {
    const input = tf.tensor3d(pixels.subarray(i * h * w * c, (i + 1) * h * w * c), [h, w, c]);
    const result = gradCam(model, input, { classIndex }, parts);
    input.dispose();
    const { data, info } = await sharp(image)
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .resize({ width: OVERLAY_MAX_SIDE, height: OVERLAY_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgba = overlay(data, info.height, info.width, info.channels, result);
    const file = join(outDir, names[i]);
    await sharp(Buffer.from(rgba.buffer), { raw: { width: info.width, height: info.height, channels: 4 } })
      .png()
      .toFile(file);
    results.push({
      image,
      class: metadata.classNames[result.classIndex] ?? String(result.classIndex),
      probability: result.probabilities[result.classIndex],
      layer: result.layer,
      overlay: file,
    });
  }
  return results;
}
