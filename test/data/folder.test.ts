// The image-folder reader and loadImages, on PNG/JPEG fixtures written by sharp into a temp dir.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { before, describe, it } from 'node:test';
import { DataError } from '../../src/data/index.js';
import { loadDataset, loadImages } from '../../src/data/node.js';
import { pattern, tempDir, writeImage } from './fixtures.js';

const [H, W] = [3, 4];

/** CRC-32 (the PNG/zlib polynomial 0xEDB88320), bit by bit: PNG chunks end with one. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Asserts that `promise` rejects with a DataError whose message contains every string of `parts`. */
async function rejectsWith(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DataError, `expected a DataError, got ${String(error)}`);
    for (const part of parts) assert.ok(error.message.includes(part), `'${error.message}' should mention '${part}'`);
    return true;
  });
}

describe('image folder reader', () => {
  let root: string;
  // Folder name -> pixel seeds of its images; 'Zebra' sorts before 'ant' in code-point order.
  const classes: Record<string, number[]> = { ant: [1, 2], Zebra: [3], mole: [4, 5, 6] };

  before(async () => {
    root = join(await tempDir(), 'rgb');
    for (const [name, seeds] of Object.entries(classes)) {
      for (const seed of seeds) await writeImage(join(root, name, `img${seed}.png`), pattern(H * W * 3, seed), H, W, 3);
    }
    await writeFile(join(root, 'README.txt'), 'files beside the class folders are ignored');
    await writeFile(join(root, 'ant', '.DS_Store'), 'hidden files are ignored');
  });

  it('maps sorted folder names to labels and keeps PNG pixels exactly (8-bit levels)', async () => {
    const ds = await loadDataset(root);
    assert.deepEqual(ds.classNames, ['Zebra', 'ant', 'mole']);
    assert.deepEqual(ds.shape, [6, H, W, 3]);
    assert.deepEqual([...ds.labels], [0, 1, 1, 2, 2, 2]);
    assert.equal(ds.source, root);
    const seedsInOrder = [3, 1, 2, 4, 5, 6];
    const expected = Uint8Array.from(seedsInOrder.flatMap((s) => [...pattern(H * W * 3, s)]));
    assert.deepEqual(ds.images, expected);
  });

  it('converts RGB to grey with ITU-R 601 luma (within 1 grey level of 0.299 R + 0.587 G + 0.114 B)', async () => {
    const ds = await loadDataset(root, { channels: 1 });
    assert.deepEqual(ds.shape, [6, H, W, 1]);
    const rgb = pattern(H * W * 3, 3); // the first image (class Zebra)
    for (let p = 0; p < H * W; p++) {
      const luma = 0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2];
      assert.ok(Math.abs(ds.images[p] - luma) <= 1, `pixel ${p}: ${ds.images[p]} vs ${luma}`);
    }
  });

  it('resizes to imageSize ([height, width]); a uniform colour stays that colour', async () => {
    const dir = join(await tempDir(), 'uniform');
    const colour = [200, 100, 50];
    await writeImage(join(dir, 'a', 'x.png'), Uint8Array.from({ length: 5 * 6 * 3 }, (_, i) => colour[i % 3]), 5, 6, 3);
    const ds = await loadDataset(dir, { imageSize: [2, 3] });
    assert.deepEqual(ds.shape, [1, 2, 3, 3]);
    ds.images.forEach((v, i) => assert.ok(Math.abs(v - colour[i % 3]) <= 1, `value ${i}: ${v}`));
  });

  it('reads greyscale PNGs as 1 channel, replicates them to 3 on request, and drops alpha', async () => {
    const dir = join(await tempDir(), 'grey');
    const grey = pattern(H * W, 7);
    await writeImage(join(dir, 'g', 'a.png'), grey, H, W, 1);
    const one = await loadDataset(dir);
    assert.deepEqual(one.shape, [1, H, W, 1]);
    assert.deepEqual(one.images, Uint8Array.from(grey));
    const three = await loadDataset(dir, { channels: 3 });
    assert.deepEqual(three.images, Uint8Array.from([...grey].flatMap((b) => [b, b, b])));

    const rgba = pattern(H * W * 4, 8);
    const alphaDir = join(await tempDir(), 'alpha');
    await writeImage(join(alphaDir, 'c', 'a.png'), rgba, H, W, 4);
    const dropped = await loadDataset(alphaDir);
    assert.deepEqual(dropped.shape, [1, H, W, 3]);
    assert.deepEqual(dropped.images, Uint8Array.from(rgba.filter((_, i) => i % 4 !== 3)));
  });

  it('reduces 16-bit PNGs to 8 bits (v / 257)', async () => {
    // A 2x1 RGB PNG with 16-bit samples, written byte by byte (sharp's raw input is 8-bit).
    const samples = [0, 65535, 257 * 100, 257 * 7, 257 * 200, 257 * 50];
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(body));
      return Buffer.concat([length, body, crc]);
    };
    const header = Buffer.alloc(13);
    header.writeUInt32BE(2, 0); // width
    header.writeUInt32BE(1, 4); // height
    header.set([16, 2, 0, 0, 0], 8); // bit depth 16, colour type 2 (RGB)
    const row = Buffer.alloc(1 + samples.length * 2); // filter byte 0, then big-endian samples
    samples.forEach((v, i) => row.writeUInt16BE(v, 1 + 2 * i));
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', zlib.deflateSync(row)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const dir = join(await tempDir(), 'deep');
    await mkdir(join(dir, 'a'), { recursive: true });
    await writeFile(join(dir, 'a', 'x.png'), png);
    const ds = await loadDataset(dir);
    assert.deepEqual(ds.shape, [1, 1, 2, 3]);
    assert.deepEqual(ds.images, Uint8Array.from(samples, (v) => v / 257));
  });

  it('decodes JPEGs (a flat colour within 3 grey levels)', async () => {
    const dir = join(await tempDir(), 'jpeg');
    const colour = [30, 140, 220];
    await writeImage(join(dir, 'only', 'a.jpg'), Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => colour[i % 3]), 8, 8, 3);
    const ds = await loadDataset(dir);
    assert.deepEqual(ds.shape, [1, 8, 8, 3]);
    ds.images.forEach((v, i) => assert.ok(Math.abs(v - colour[i % 3]) <= 3, `value ${i}: ${v}`));
  });

  it('limit takes images round-robin over the classes', async () => {
    const ds = await loadDataset(root, { limit: 4 });
    // Round 0: Zebra/img3, ant/img1, mole/img4; round 1: ant/img2 (Zebra has no second image).
    assert.deepEqual([...ds.labels], [0, 1, 1, 2]);
    assert.deepEqual(ds.images.subarray(0, H * W * 3), Uint8Array.from(pattern(H * W * 3, 3)));
    await rejectsWith(loadDataset(root, { limit: 0 }), 'limit');
  });

  it('loadImages prepares files exactly as the folder reader does', async () => {
    const files = [join(root, 'mole', 'img5.png'), join(root, 'Zebra', 'img3.png')];
    const pixels = await loadImages(files, [2, 2], 1);
    const ds = await loadDataset(root, { imageSize: [2, 2], channels: 1 });
    assert.equal(pixels.length, 2 * 2 * 2);
    // loadImages gives float32 pixels / 255, the folder reader 8-bit levels.
    const unit = (levels: Uint8Array) => Float32Array.from(levels, (v) => v / 255);
    assert.deepEqual(pixels.subarray(0, 4), unit(ds.images.subarray(4 * 4, 5 * 4))); // img5 is the 5th image
    assert.deepEqual(pixels.subarray(4, 8), unit(ds.images.subarray(0, 4)));
  });
});

describe('image folder errors name the path', () => {
  let base: string;
  before(async () => {
    base = await tempDir();
  });

  it('missing path and unsupported data file', async () => {
    await rejectsWith(loadDataset(join(base, 'nope')), join(base, 'nope'), 'no such');
    const csv = join(base, 'data.csv');
    await writeFile(csv, 'a,b\n');
    await rejectsWith(loadDataset(csv), csv, "unsupported data file extension '.csv'");
  });

  it('empty folder, and a folder without class sub-folders', async () => {
    const empty = join(base, 'empty');
    await mkdir(empty);
    await rejectsWith(loadDataset(empty), empty, 'empty folder');
    const flat = join(base, 'flat');
    await writeImage(join(flat, 'a.png'), pattern(12, 1), 2, 2, 3);
    await rejectsWith(loadDataset(flat), flat, 'no class sub-folders');
  });

  it('a class folder without images, a nested folder, a non-image file', async () => {
    const dir = join(base, 'noimages');
    await writeImage(join(dir, 'a', 'x.png'), pattern(12, 1), 2, 2, 3);
    await mkdir(join(dir, 'b'));
    await rejectsWith(loadDataset(dir), join(dir, 'b'), 'no images');
    const nested = join(base, 'nested');
    await writeImage(join(nested, 'a', 'deeper', 'x.png'), pattern(12, 1), 2, 2, 3);
    await rejectsWith(loadDataset(nested), join(nested, 'a', 'deeper'), 'nested');
    const text = join(base, 'text');
    await writeImage(join(text, 'a', 'x.png'), pattern(12, 1), 2, 2, 3);
    await writeFile(join(text, 'a', 'notes.txt'), 'hello');
    await rejectsWith(loadDataset(text), join(text, 'a', 'notes.txt'), "'.txt'");
  });

  it('corrupt and truncated image files', async () => {
    const dir = join(base, 'corrupt');
    await writeImage(join(dir, 'a', 'good.png'), pattern(12, 1), 2, 2, 3);
    await writeFile(join(dir, 'a', 'not-really.png'), 'this is text, not a PNG');
    await rejectsWith(loadDataset(dir), join(dir, 'a', 'not-really.png'), 'not a readable');
    const truncated = join(base, 'truncated');
    await writeImage(join(truncated, 'a', 'whole.jpg'), pattern(16 * 16 * 3, 2), 16, 16, 3);
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(join(truncated, 'a', 'whole.jpg'));
    await writeFile(join(truncated, 'a', 'half.jpg'), bytes.subarray(0, bytes.length >> 1));
    await rejectsWith(loadDataset(truncated), join(truncated, 'a', 'half.jpg'), 'not a readable');
  });

  it('mixed sizes: resized to the most common size with one notice line, or to imageSize without one', async () => {
    const dir = join(base, 'mixed');
    await writeImage(join(dir, 'a', '1.png'), pattern(2 * 2 * 3, 1), 2, 2, 3);
    await writeImage(join(dir, 'a', '3.png'), pattern(2 * 2 * 3, 3), 2, 2, 3);
    await writeImage(join(dir, 'b', '2.png'), pattern(3 * 5 * 3, 2), 3, 5, 3);
    const lines: string[] = [];
    const ds = await loadDataset(dir, { log: (line) => lines.push(line) });
    assert.deepEqual(ds.shape, [3, 2, 2, 3]);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^resizing 1 of 3 images to 2x2, the most common size \(--resize squash; e\.g\. .*2\.png is 3x5\); --image-size chooses the size$/);
    const quiet: string[] = [];
    const sized = await loadDataset(dir, { imageSize: [4, 4], log: (line) => quiet.push(line) });
    assert.deepEqual(sized.shape, [3, 4, 4, 3]);
    assert.deepEqual(quiet, []);
  });

  it('bad options and loadImages inputs', async () => {
    const dir = join(base, 'opts');
    await writeImage(join(dir, 'a', '1.png'), pattern(12, 1), 2, 2, 3);
    await rejectsWith(loadDataset(dir, { channels: 2 }), 'channels');
    await rejectsWith(loadDataset(dir, { imageSize: [0, 2] }), 'image size');
    await rejectsWith(loadImages([join(dir, 'missing.png')], [2, 2], 3), join(dir, 'missing.png'), 'no such file');
    await rejectsWith(loadImages([join(dir, 'a.gif')], [2, 2], 3), join(dir, 'a.gif'), "'.gif'");
  });
});
