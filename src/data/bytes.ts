// Turns 8-bit NHWC pixels already in memory (HDF5 arrays, the MNIST digits) into an ImageDataset,
// applying the same limit / resize / channel steps as the folder reader.
import { checkImageOptions, convertChannels, mapConcurrent, resizeRaw, writeScaled } from './images.js';
import { checkImagesMemory } from '../io/memory.js';
import { balancedSelection } from './select.js';
import type { ImageDataset } from './types.js';

export interface BytesOptions {
  imageSize?: [number, number];
  channels?: number;
  limit?: number;
}

export async function datasetFromBytes(
  bytes: Uint8Array,
  shape: [number, number, number, number],
  labels: Int32Array,
  classNames: string[],
  source: string,
  options: BytesOptions = {},
): Promise<ImageDataset> {
  checkImageOptions(options.imageSize, options.channels);
  const [, height, width, storedChannels] = shape;
  const chosen = balancedSelection(labels, classNames.length, options.limit);
  const [outHeight, outWidth] = options.imageSize ?? [height, width];
  const channels = options.channels ?? storedChannels;
  const inLength = height * width * storedChannels;
  const outLength = outHeight * outWidth * channels;
  checkImagesMemory(source, chosen.length, outHeight, outWidth, channels, 4);
  const images = new Float32Array(chosen.length * outLength);
  const resize = outHeight !== height || outWidth !== width;
  await mapConcurrent(chosen, async (index, i) => {
    let image = { pixels: bytes.subarray(index * inLength, (index + 1) * inLength), height, width, channels: storedChannels };
    if (resize) image = await resizeRaw(image, [outHeight, outWidth]);
    writeScaled(convertChannels(image.pixels, storedChannels, channels), images, i * outLength);
  });
  return {
    images,
    labels: Int32Array.from(chosen, (i) => labels[i]),
    shape: [chosen.length, outHeight, outWidth, channels],
    classNames,
    source,
  };
}
