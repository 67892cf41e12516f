// The libjpeg-turbo fast path (src/data/jpeg.ts, native/src/jpeg.cc): every JPEG it takes decodes to
// exactly sharp's pixels (the independent reference, decodeImage), and everything sharp would treat
// differently (another size, Exif orientation, an ICC profile, damaged data, not a file) is left to sharp.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { decodeImage, loadImages, readImageBytes } from '../../src/data/images.js';
import { decodePlainJpegs, jpegAddon, plainJpegSizes } from '../../src/data/jpeg.js';
import { readImageFolder } from '../../src/data/folder.js';
import { tempDir } from './fixtures.js';

const addon = jpegAddon();
// CI builds the addon (RESNET_REQUIRE_NATIVE=1): there these tests must run, not skip.
const skip = addon === null && process.env.RESNET_REQUIRE_NATIVE !== '1' ? 'resnet_jpeg addon not built (no libjpeg headers)' : false;

/** Photo-like RGB pixels: smooth gradients plus seeded noise, so that every DCT coefficient matters. */
function photo(height: number, width: number, seed: number): Buffer {
  const pixels = Buffer.alloc(height * width * 3);
  let state = seed * 2654435761;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        state = (state * 1103515245 + 12345) >>> 0;
        const smooth = ((x * (40 + 30 * c)) / width + (y * (200 - 50 * c)) / height + seed * 13) % 256;
        pixels[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(smooth + ((state >>> 24) % 48) - 24)));
      }
    }
  }
  return pixels;
}

const raw = (height: number, width: number, seed: number) => sharp(photo(height, width, seed), { raw: { width, height, channels: 3 } });

/** Runs `task` with RESNET_NATIVE_JPEG=`off` (sharp decodes every image), restoring the variable after. */
async function sharpAlone<T>(task: () => Promise<T>, off = '0'): Promise<T> {
  const saved = process.env.RESNET_NATIVE_JPEG;
  process.env.RESNET_NATIVE_JPEG = off;
  try {
    return await task();
  } finally {
    if (saved === undefined) delete process.env.RESNET_NATIVE_JPEG;
    else process.env.RESNET_NATIVE_JPEG = saved;
  }
}

/** Decodes `files` with the fast path: [taken flags, RGB pixels per file (undefined when not taken)]. */
async function fast(files: string[], height: number, width: number): Promise<[Uint8Array, (Uint8Array | undefined)[]]> {
  const out: (Uint8Array | undefined)[] = files.map(() => undefined);
  const taken = await decodePlainJpegs(files, [height, width], (i, rgb) => void (out[i] = rgb.slice()));
  return [taken, out];
}

describe('libjpeg-turbo fast path for JPEG folders', { skip }, () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });

  it('is built where the native engine is required', () => {
    assert.ok(addon, 'RESNET_REQUIRE_NATIVE=1 but native/build/Release/resnet_jpeg.node did not load');
    assert.match(addon.libjpegTurboVersion, /^\d+\.\d+\.\d+$/);
  });

  it("decodes baseline, progressive, 4:4:4, 4:2:0, greyscale and odd-sized JPEGs to exactly sharp's pixels", async () => {
    const cases: [string, number, number, (image: Sharp) => Sharp][] = [
      ['q95-420.jpg', 32, 32, (i) => i.jpeg({ quality: 95 })],
      ['q75-444.jpg', 32, 32, (i) => i.jpeg({ quality: 75, chromaSubsampling: '4:4:4' })],
      ['progressive.jpg', 32, 32, (i) => i.jpeg({ quality: 90, progressive: true })],
      ['mozjpeg.jpeg', 32, 32, (i) => i.jpeg({ quality: 80, mozjpeg: true })],
      ['odd-420.JPG', 17, 23, (i) => i.jpeg({ quality: 85 })],
      ['odd-444.jpg', 23, 17, (i) => i.jpeg({ quality: 60, chromaSubsampling: '4:4:4' })],
      ['grey.jpg', 32, 32, (i) => i.toColourspace('b-w').jpeg({ quality: 90 })],
      ['larger.jpg', 96, 64, (i) => i.jpeg({ quality: 92 })],
    ];
    for (const [k, [name, height, width, encode]] of cases.entries()) {
      const file = join(dir, name);
      await writeFile(file, await encode(raw(height, width, k + 1)).toBuffer());
      const [taken, [pixels]] = await fast([file], height, width);
      assert.equal(taken[0], 1, `${name} should be taken`);
      const reference = await decodeImage(await readImageBytes(file), file, 3, [height, width]);
      assert.deepEqual(pixels, reference.pixels, `${name}: every value as sharp decodes it`);
    }
  });

  it('leaves to sharp: another size, Exif orientation, an ICC profile, damaged data, PNG, and what is not a file', async () => {
    const jpeg = await raw(32, 32, 9).jpeg({ quality: 90 }).toBuffer();
    const files: Record<string, Buffer | 'dir' | 'fifo' | 'missing'> = {
      'plain.jpg': jpeg,
      'other-size.jpg': await raw(32, 40, 2).jpeg().toBuffer(),
      'rotated.jpg': await raw(32, 32, 3).withMetadata({ orientation: 6 }).jpeg().toBuffer(),
      'icc.jpg': await raw(32, 32, 4).withIccProfile('p3').jpeg().toBuffer(),
      'truncated.jpg': jpeg.subarray(0, Math.floor(jpeg.length * 0.6)),
      'garbage.jpg': Buffer.from('not a JPEG at all, only text'),
      'empty.jpg': Buffer.alloc(0),
      'really-png.jpg': await raw(32, 32, 5).png().toBuffer(),
      'photo.png': await raw(32, 32, 6).png().toBuffer(),
      'folder.jpg': 'dir',
      'pipe.jpg': 'fifo',
      'missing.jpg': 'missing',
    };
    const paths: string[] = [];
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, 'mixed', name);
      await mkdir(join(dir, 'mixed'), { recursive: true });
      if (content === 'dir') await mkdir(path);
      else if (content === 'fifo') execFileSync('mkfifo', [path]);
      else if (content !== 'missing') await writeFile(path, content);
      paths.push(path);
    }
    const [taken, pixels] = await fast(paths, 32, 32);
    assert.deepEqual(
      Object.keys(files).filter((_, i) => taken[i]),
      ['plain.jpg'],
    );
    // Header sizes: of the plain JPEGs, whatever their size (a truncated one's header is whole; its
    // decoding fails later, in sharp); the rest are left to image-size / libvips.
    const sizes = await plainJpegSizes(paths);
    assert.deepEqual(
      Object.fromEntries(Object.keys(files).flatMap((name, i) => (sizes[i] ? [[name, sizes[i]]] : []))),
      { 'plain.jpg': [32, 32], 'other-size.jpg': [32, 40], 'truncated.jpg': [32, 32] },
    );
    const reference = await decodeImage(jpeg, 'plain.jpg', 3, [32, 32]);
    assert.deepEqual(pixels[0], reference.pixels);
  });

  it('the folder reader and loadImages give the same pixels and labels with and without it', async () => {
    const root = join(dir, 'folder');
    const write = async (path: string, image: Sharp) => {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), await image.toBuffer());
    };
    for (let i = 0; i < 40; i++) await write(`cat/${i}.jpg`, raw(32, 32, i).jpeg({ quality: 70 + (i % 30) }));
    await write('dog/a.jpg', raw(32, 32, 50).withMetadata({ orientation: 3 }).jpeg()); // rotated: sharp
    await write('dog/b.png', raw(32, 32, 51).png()); // PNG: sharp
    await write('dog/c.jpg', raw(48, 40, 52).jpeg()); // resized: sharp
    await write('dog/d.jpg', raw(32, 32, 53).toColourspace('b-w').jpeg());
    for (const channels of [3, 1] as const) {
      const read = async () => {
        const data = await readImageFolder(root, { imageSize: [32, 32], channels, log: () => {} });
        assert.equal(data.store.kind, 'memory');
        return { pixels: data.store.kind === 'memory' ? data.store.levels : undefined, labels: data.labels };
      };
      const [withAddon, sharpOnly] = [await read(), await sharpAlone(read)];
      assert.deepEqual(withAddon.labels, sharpOnly.labels);
      assert.ok(Buffer.from(withAddon.pixels!).equals(Buffer.from(sharpOnly.pixels!)), `channels ${channels}: identical decoded levels`);
      // Without imageSize the folder's most common size is chosen from the headers (most via libjpeg-turbo).
      const chosen = async () => {
        const data = await readImageFolder(root, { channels, log: () => {} });
        return { shape: data.shape, pixels: data.store.kind === 'memory' ? data.store.levels : undefined };
      };
      const [auto, autoSharp] = [await chosen(), await sharpAlone(chosen)];
      assert.deepEqual(auto.shape, [44, 32, 32, channels]);
      assert.deepEqual(auto, autoSharp);
      // loadImages (prediction) takes the same path.
      const files = ['cat/0.jpg', 'dog/a.jpg', 'cat/7.jpg', 'dog/b.png', 'dog/d.jpg'].map((f) => join(root, f));
      const predict = () => loadImages(files, [32, 32], channels);
      assert.deepEqual(await predict(), await sharpAlone(predict), `channels ${channels}: loadImages identical`);
    }
    // The damaged file still gets sharp's error line, naming the file.
    await writeFile(join(root, 'dog', 'e.jpg'), (await readFile(join(root, 'cat', '0.jpg'))).subarray(0, 200));
    await assert.rejects(readImageFolder(root, { imageSize: [32, 32], log: () => {} }), /dog\/e\.jpg: not a readable JPEG\/PNG image/);
  });

  it('RESNET_NATIVE_JPEG=0, false, off or no turns it off; other values leave it on', async () => {
    for (const off of ['0', 'false', 'OFF', 'no']) assert.equal(await sharpAlone(async () => jpegAddon(), off), null, off);
    for (const on of ['1', 'yes', '']) assert.equal(await sharpAlone(async () => jpegAddon(), on), addon, on);
  });

  it('refuses bad arguments with a JavaScript error, not a crash', async () => {
    const one = new Uint8Array(4 * 4 * 3);
    const flag = new Uint8Array(1);
    assert.throws(() => addon!.decodeJpegFiles('x' as unknown as string[], 4, 4, one, flag), TypeError);
    assert.throws(() => addon!.decodeJpegFiles([1 as unknown as string], 4, 4, one, flag), TypeError);
    assert.throws(() => addon!.decodeJpegFiles(['a.jpg'], 0, 4, one, flag), RangeError);
    assert.throws(() => addon!.decodeJpegFiles(['a.jpg'], 4.5, 4, one, flag), RangeError);
    assert.throws(() => addon!.decodeJpegFiles(['a.jpg'], 1e6, 1e6, one, flag), RangeError);
    assert.throws(() => addon!.decodeJpegFiles(['a.jpg'], 4, 4, one.subarray(1), flag), RangeError);
    assert.throws(() => addon!.decodeJpegFiles(['a.jpg'], 4, 4, new Float32Array(48) as unknown as Uint8Array, flag), TypeError);
    assert.throws(() => addon!.jpegHeaderSizes(['a.jpg'], new Int32Array(1)), RangeError);
    assert.throws(() => addon!.jpegHeaderSizes(['a.jpg'], new Uint32Array(2) as unknown as Int32Array), TypeError);
    // A NUL in a path is never opened: not taken, size unknown.
    await addon!.decodeJpegFiles(['a\0.jpg'], 4, 4, one, flag);
    assert.equal(flag[0], 0);
    const size = Int32Array.of(7, 7);
    await addon!.jpegHeaderSizes(['a\0.jpg'], size);
    assert.deepEqual([...size], [0, 0]);
  });
});
