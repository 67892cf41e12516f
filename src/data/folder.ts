// Reads a folder of images laid out as <root>/<class name>/<image>.jpg|png (Keras's
// image_dataset_from_directory layout). Class names are the sub-folder names in code-point order
// (Python's sorted()), so label i is the i-th name.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { checkImageOptions, convertChannels, decodeImageFile, IMAGE_EXTENSIONS, isImageFile, mapConcurrent, writeScaled } from './images.js';
import { checkImagesMemory } from '../io/memory.js';
import { MAX_CLASSES, MAX_IMAGE_SIDE } from '../limits.js';
import { balancedSelection } from './select.js';
import { DataError, type ImageDataset } from './types.js';

export interface FolderOptions {
  imageSize?: [number, number];
  channels?: number;
  limit?: number;
  /** Hears notices about the folder (class folders reached through symbolic links); default: stderr. */
  onNotice?: (line: string) => void;
}

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

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

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
 * Decodes every image of the folder. Without options.imageSize all images must have the first
 * image's size (a mismatch is a DataError naming both files); without options.channels the first
 * image decides between greyscale (1) and RGB (3).
 */
export async function readImageFolder(root: string, options: FolderOptions = {}): Promise<ImageDataset> {
  checkImageOptions(options.imageSize, options.channels);
  const listing = await listImageFiles(root, options.onNotice ?? noticeOnStderr);
  const chosen = balancedSelection(listing.labels, listing.classNames.length, options.limit);
  const files = chosen.map((i) => listing.files[i]);
  // The first image fixes the size and channel count that all the others are held to.
  const first = await decodeImageFile(files[0], options.imageSize);
  const [height, width] = [first.height, first.width];
  if (!options.imageSize && Math.max(height, width) > MAX_IMAGE_SIDE) {
    throw new DataError(`${files[0]}: image is ${height}x${width}, larger than the ${MAX_IMAGE_SIDE} pixels a model input may be; give an image size (--image-size) to resize the images`);
  }
  const channels = options.channels ?? first.channels;
  const imageLength = height * width * channels;
  checkImagesMemory(root, files.length, height, width, channels, 4);
  const images = new Float32Array(files.length * imageLength);
  await mapConcurrent(files, async (file, i) => {
    const image = i === 0 ? first : await decodeImageFile(file, options.imageSize);
    if (image.height !== height || image.width !== width) {
      throw new DataError(
        `${file}: image is ${image.height}x${image.width} but ${files[0]} is ${height}x${width}; ` +
          'images of different sizes need an image size (--image-size) to resize them all to',
      );
    }
    writeScaled(convertChannels(image.pixels, image.channels, channels), images, i * imageLength);
  });
  return {
    images,
    labels: Int32Array.from(chosen, (i) => listing.labels[i]),
    shape: [files.length, height, width, channels],
    classNames: listing.classNames,
    source: root,
  };
}
