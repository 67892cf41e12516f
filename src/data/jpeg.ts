// Bulk decoding of small JPEG files with libjpeg-turbo (the resnet_jpeg addon, native/src/jpeg.cc),
// for image folders: sharp spends ~1 ms of CPU setting up libvips for each 32x32 photo, libjpeg-turbo
// ~25 us decoding it, so CIFAR-10's 50,000 training photos decode in 1.0 s instead of 28.7 s.
// The addon takes only files whose pixels are then the same as sharp's (JPEG, stored at the asked
// size, no Exif orientation, no ICC profile, no decoder warning); the caller decodes the rest with
// sharp (decodeImage), which also words every error. RESNET_NATIVE_JPEG=0 turns it off (sharp for all).
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { findAddon } from '../engine/native/addon.js';

interface JpegAddon {
  /** Decodes paths[i] (stored at height x width) as RGB into out[i*h*w*3 ...]; taken[i] = 1 when it did, 0 when the caller must. */
  decodeJpegFiles(paths: string[], height: number, width: number, out: Uint8Array, taken: Uint8Array): Promise<void>;
  /** sizes[2i], sizes[2i+1] = the stored height and width of paths[i] when the addon would take it (size aside), else 0, 0. */
  jpegHeaderSizes(paths: string[], sizes: Int32Array): Promise<void>;
  libjpegTurboVersion: string;
}

/** Files handed to one call (one libuv worker thread): small enough for steady progress lines... */
const CHUNK_FILES = 256;
/** ...and for the call's decoded pixels to stay under this many bytes (large images: fewer files). */
const CHUNK_BYTES = 16 << 20;
/** Files whose header one call reads. */
const HEADER_CHUNK_FILES = 1024;
/** Calls in flight: one per core of the machines this runs on (the 2-core reference machine). */
const CHUNKS_IN_FLIGHT = 2;

/** RESNET_NATIVE_JPEG values that turn the addon off (sharp decodes everything); any other value leaves it on. */
const NATIVE_JPEG_OFF = ['0', 'false', 'off', 'no'];

let addon: JpegAddon | null | undefined;

/** The addon, or null when it is not built (no libjpeg headers), cannot load, or RESNET_NATIVE_JPEG is 0 / false / off / no. */
export function jpegAddon(): JpegAddon | null {
  if (NATIVE_JPEG_OFF.includes((process.env.RESNET_NATIVE_JPEG ?? '').toLowerCase())) return null;
  if (addon === undefined) {
    const path = findAddon('resnet_jpeg.node');
    try {
      addon = path ? (createRequire(import.meta.url)(path) as JpegAddon) : null;
      if (addon && (typeof addon.decodeJpegFiles !== 'function' || typeof addon.jpegHeaderSizes !== 'function')) addon = null;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** The native decoder's version for cache keys ('libjpeg-turbo 2.1.5'), or null when sharp decodes everything. */
export function nativeJpegVersion(): string | null {
  const loaded = jpegAddon();
  return loaded ? `libjpeg-turbo ${loaded.libjpegTurboVersion}` : null;
}

/** The indices of the .jpg/.jpeg among `files`. */
function jpegIndices(files: readonly string[]): number[] {
  return files.flatMap((file, i) => (['.jpg', '.jpeg'].includes(extname(file).toLowerCase()) ? [i] : []));
}

/** Runs `task` on consecutive slices of `items` (at most `size` each), CHUNKS_IN_FLIGHT at a time. */
async function inChunks<T>(items: readonly T[], size: number, task: (chunk: T[]) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const chunk = items.slice(next, next + size);
      next += chunk.length;
      await task(chunk);
    }
  };
  await Promise.all(Array.from({ length: CHUNKS_IN_FLIGHT }, worker));
}

/**
 * Decodes the .jpg/.jpeg among `files` that the addon takes, each stored at `size` ([height, width]),
 * calling `place(index, rgb)` for each (rgb: height*width*3 values, valid during the call only).
 * Returns which files were taken (1) and which the caller must decode itself (0); all 0 without the addon.
 */
export async function decodePlainJpegs(files: readonly string[], size: [number, number], place: (index: number, rgb: Uint8Array) => void | Promise<void>): Promise<Uint8Array> {
  const taken = new Uint8Array(files.length);
  const decoder = jpegAddon();
  if (!decoder) return taken;
  const imageLength = size[0] * size[1] * 3;
  const chunkFiles = Math.max(1, Math.min(CHUNK_FILES, Math.floor(CHUNK_BYTES / imageLength)));
  await inChunks(jpegIndices(files), chunkFiles, async (chunk) => {
    const pixels = new Uint8Array(chunk.length * imageLength);
    const chunkTaken = new Uint8Array(chunk.length);
    await decoder.decodeJpegFiles(
      chunk.map((i) => files[i]),
      size[0],
      size[1],
      pixels,
      chunkTaken,
    );
    for (const [j, index] of chunk.entries()) {
      if (!chunkTaken[j]) continue;
      taken[index] = 1;
      await place(index, pixels.subarray(j * imageLength, (j + 1) * imageLength));
    }
  });
  return taken;
}

/**
 * The stored [height, width] of each file the addon would decode (a plain JPEG: no Exif, no ICC),
 * read from its header by libjpeg; undefined for every other file (and for all without the addon),
 * whose size the caller reads its own way (readStoredSize).
 */
export async function plainJpegSizes(files: readonly string[]): Promise<([number, number] | undefined)[]> {
  const sizes: ([number, number] | undefined)[] = files.map(() => undefined);
  const decoder = jpegAddon();
  if (!decoder) return sizes;
  await inChunks(jpegIndices(files), HEADER_CHUNK_FILES, async (chunk) => {
    const read = new Int32Array(2 * chunk.length);
    await decoder.jpegHeaderSizes(
      chunk.map((i) => files[i]),
      read,
    );
    for (const [j, index] of chunk.entries()) if (read[2 * j] > 0 && read[2 * j + 1] > 0) sizes[index] = [read[2 * j], read[2 * j + 1]];
  });
  return sizes;
}
