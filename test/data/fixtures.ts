// Small image and HDF5 fixtures written into a fresh temp dir by the data tests.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import h5wasm from 'h5wasm/node';
import sharp from 'sharp';

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'resnet-data-test-'));
}

/** Writes 8-bit HWC pixels as a lossless PNG (or a JPEG when the name ends in .jpg). */
export async function writeImage(file: string, pixels: Uint8Array, height: number, width: number, channels: 1 | 2 | 3 | 4): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const image = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  // sharp stores 1-channel raw input as RGB unless told the data is greyscale.
  if (channels === 1) image.toColourspace('b-w');
  await writeFile(file, await (file.endsWith('.jpg') ? image.jpeg({ quality: 95 }) : image.png()).toBuffer());
}

/** Deterministic pixels 0..255 for an image: value = (seed * 37 + i * 11) mod 256. */
export function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 37 + i * 11) % 256);
}

export interface H5Dataset {
  name: string;
  data: Uint8Array | BigInt64Array | Float64Array | string[];
  shape: number[];
  dtype?: string;
}

/** Writes an HDF5 file holding the given datasets. */
export async function writeH5(file: string, datasets: H5Dataset[]): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  try {
    for (const d of datasets) f.create_dataset({ name: d.name, data: d.data, shape: d.shape, dtype: d.dtype });
  } finally {
    f.close();
  }
}
