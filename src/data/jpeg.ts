// Bulk decoding of small JPEG files with libjpeg-turbo (the resnet_jpeg addon, native/src/jpeg.cc),
// for image folders: sharp spends ~1 ms of CPU setting up libvips for each 32x32 photo, libjpeg-turbo
// ~25 us decoding it, so a folder of 50,000 CIFAR-10 photos decodes in ~1.3 s instead of ~24 s.
// The addon takes only files whose pixels are then the same as sharp's (JPEG, stored at the asked
// size, no Exif orientation, no ICC profile, no decoder warning); the caller decodes the rest with
// sharp (decodeImage), which also words every error. RESNET_NATIVE_JPEG=0 turns it off (sharp for all).
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { findAddon } from '../engine/native/addon.js';

interface JpegAddon {
  /** Decodes paths[i] (stored at height x width) as RGB into out[i*h*w*3 ...]; taken[i] = 1 when it did, 0 when the caller must. */
  decodeJpegFiles(paths: string[], height: number, width: number, out: Uint8Array, taken: Uint8Array): Promise<void>;
  libjpegTurboVersion: string;
}

/** Files handed to one call (one libuv worker thread): small enough for steady progress lines. */
const CHUNK_FILES = 256;
/** Calls in flight: one per core of the machines this runs on (the 2-core reference machine). */
const CHUNKS_IN_FLIGHT = 2;

let addon: JpegAddon | null | undefined;

/** The addon, or null when it is not built (no libjpeg headers), cannot load, or RESNET_NATIVE_JPEG=0. */
export function jpegAddon(): JpegAddon | null {
  if (process.env.RESNET_NATIVE_JPEG === '0') return null;
  if (addon === undefined) {
    const path = findAddon('resnet_jpeg.node');
    try {
      addon = path ? (createRequire(import.meta.url)(path) as JpegAddon) : null;
      if (addon && typeof addon.decodeJpegFiles !== 'function') addon = null;
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

/**
 * Decodes the .jpg/.jpeg among `files` that the addon takes, each stored at `size` ([height, width]),
 * calling `place(index, rgb)` for each (rgb: height*width*3 values, valid during the call only).
 * Returns which files were taken (1) and which the caller must decode itself (0); all 0 without the addon.
 */
export async function decodePlainJpegs(files: readonly string[], size: [number, number], place: (index: number, rgb: Uint8Array) => void | Promise<void>): Promise<Uint8Array> {
  const taken = new Uint8Array(files.length);
  const decoder = jpegAddon();
  if (!decoder) return taken;
  const candidates: number[] = [];
  files.forEach((file, i) => {
    const extension = extname(file).toLowerCase();
    if (extension === '.jpg' || extension === '.jpeg') candidates.push(i);
  });
  const imageLength = size[0] * size[1] * 3;
  let next = 0;
  const worker = async () => {
    const pixels = new Uint8Array(CHUNK_FILES * imageLength);
    const chunkTaken = new Uint8Array(CHUNK_FILES);
    while (next < candidates.length) {
      const chunk = candidates.slice(next, next + CHUNK_FILES);
      next += chunk.length;
      await decoder.decodeJpegFiles(
        chunk.map((i) => files[i]),
        size[0],
        size[1],
        pixels.subarray(0, chunk.length * imageLength),
        chunkTaken.subarray(0, chunk.length),
      );
      for (const [j, index] of chunk.entries()) {
        if (!chunkTaken[j]) continue;
        taken[index] = 1;
        await place(index, pixels.subarray(j * imageLength, (j + 1) * imageLength));
      }
    }
  };
  await Promise.all(Array.from({ length: CHUNKS_IN_FLIGHT }, worker));
  return taken;
}
