// Turns 8-bit NHWC pixels already in memory (HDF5 arrays, the MNIST digits) into an ImageDataset,
// applying the same limit / size / resize / channel steps as the folder reader.
import { checkImageOptions, convertChannels, mapConcurrent, resizeRaw, sharedLevels } from './images.js';
import { checkImagesMemory } from '../io/memory.js';
import { balancedSelection } from './select.js';
import type { ReadOptions } from './store.js';
import type { ImageDataset } from './types.js';

export type BytesOptions = Pick<ReadOptions, 'imageSize' | 'defaultSize' | 'resize' | 'channels' | 'limit' | 'log'>;

export async function datasetFromBytes(
  bytes: Uint8Array,
  shape: [number, number, number, number],
  labels: Int32Array,
  classNames: string[],
  source: string,
  options: BytesOptions = {},
): Promise<ImageDataset> {
  checkImageOptions(options.imageSize, options.channels, options.resize);
  const [, height, width, storedChannels] = shape;
  const chosen = balancedSelection(labels, classNames.length, options.limit);
  const [outHeight, outWidth] = options.imageSize ?? options.defaultSize?.size ?? [height, width];
  const channels = options.channels ?? storedChannels;
  const inLength = height * width * storedChannels;
  const outLength = outHeight * outWidth * channels;
  checkImagesMemory(source, chosen.length, outHeight, outWidth, channels, 1); // 8-bit levels
  const images = sharedLevels(chosen.length * outLength);
  const resize = outHeight !== height || outWidth !== width;
  if (resize && !options.imageSize && options.defaultSize) {
    options.log?.(`resizing all ${chosen.length} images from ${height}x${width} to ${outHeight}x${outWidth}, ${options.defaultSize.reason} (--resize ${options.resize ?? 'squash'}); --image-size chooses the size`);
  }
  await mapConcurrent(chosen, async (index, i) => {
    let image = { pixels: bytes.subarray(index * inLength, (index + 1) * inLength), height, width, channels: storedChannels };
    if (resize) image = await resizeRaw(image, [outHeight, outWidth], options.resize);
    images.set(convertChannels(image.pixels, storedChannels, channels), i * outLength);
  });
  return {
    images,
    labels: Int32Array.from(chosen, (i) => labels[i]),
    shape: [chosen.length, outHeight, outWidth, channels],
    classNames,
    source,
  };
}
