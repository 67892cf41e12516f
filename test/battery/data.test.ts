// Battery: hostile data given to `resnet train` / `resnet evaluate` / `resnet predict`. HDF5 files
// whose declared dimensions, labels or class lists are absurd, photos too large to decode, odd files
// where images belong, symbolic links among the class folders, a memory cap. Each is refused in one
// line without allocating what it declares, or (a linked class folder) used with a notice.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import h5wasm from 'h5wasm/node';
import sharp from 'sharp';
import { tempDir, writeImageFolder } from '../cli/helpers.js';
import { writeH5, type H5Dataset } from '../data/fixtures.js';
import { defaultOptions } from '../../src/train/options.js';
import { trainRun } from '../../src/train/run.js';
import type { Progress } from '../../src/train/progress.js';
import { assertAllRefused, assertRefused, resnet } from './support.js';

const silent: Progress = { startEpoch() {}, step() {}, endEpoch() {}, log() {} };
const CPU = ['--backend', 'cpu', '--model', 'tiny-resnet', '--epochs', '1', '--batch-size', '4'];
let root = '';
let data = '';

/** CRC-32 of PNG chunks (ISO 3309), written out: zlib.crc32 needs Node 22. */
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), body])));
  return Buffer.concat([length, Buffer.from(type), body, crc]);
}

/** A PNG header declaring width x height RGB pixels, followed by only a few rows of data. */
function bigPngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter, no interlace
  const rows = deflateSync(Buffer.alloc(4 * (1 + 3 * width)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

const x = (n: number, size = 4, channels = 3): H5Dataset => ({ name: 'train_set_x', data: new Uint8Array(n * size * size * channels), shape: channels === 1 ? [n, size, size] : [n, size, size, channels] });
const y = (labels: bigint[]): H5Dataset => ({ name: 'train_set_y', data: BigInt64Array.from(labels), shape: [labels.length] });

/** An HDF5 file whose dataset `name` is declared `shape` (chunked, never written: a tiny file). */
async function declaredH5(file: string, name: string, shape: number[], others: H5Dataset[]): Promise<string> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  try {
    const start = [1, ...shape.slice(1)];
    const length = start.reduce((a, b) => a * b, 1);
    const dataset = f.create_dataset({ name, data: name.endsWith('_y') ? new BigInt64Array(length) : new Uint8Array(length), shape: start, maxshape: [null, ...shape.slice(1)], chunks: start });
    dataset.resize(shape);
    for (const d of others) f.create_dataset({ name: d.name, data: d.data, shape: d.shape, dtype: d.dtype });
  } finally {
    f.close();
  }
  return file;
}

before(async () => {
  root = tempDir('resnet-battery-data-');
  data = await writeImageFolder(join(root, 'data'), 2);
});

describe('HDF5: declared dimensions, labels and class lists', () => {
  test('zero or huge dimensions, wrapping or huge labels, odd dtypes and links: one line each, nothing large allocated', async () => {
    const h5 = (name: string) => join(root, `${name}.h5`);
    await writeH5(h5('zero-dim'), [{ name: 'train_set_x', data: new Uint8Array(0), shape: [2, 0, 8, 3], dtype: '<B' }, y([0n, 1n])]);
    await writeH5(h5('zero-images'), [{ name: 'train_set_x', data: new Uint8Array(0), shape: [0, 4, 4, 3], dtype: '<B' }, y([])]);
    await declaredH5(h5('huge-x'), 'train_set_x', [100_000_000, 8, 8, 3], [y([0n])]);
    await declaredH5(h5('beyond-file'), 'train_set_x', [100_000, 8, 8, 3], [y([0n])]);
    await declaredH5(h5('huge-y'), 'train_set_y', [400_000_000], [x(2)]);
    await declaredH5(h5('huge-classes'), 'list_classes', [50_000_000], [x(2), y([0n, 1n])]);
    await writeH5(h5('wrap'), [x(2), y([0n, 2n ** 32n + 1n])]);
    await writeH5(h5('billion'), [x(2), y([0n, 1_000_000_000n])]);
    await writeH5(h5('int64-max'), [x(2), y([0n, 2n ** 63n - 1n])]);
    await writeH5(h5('negative'), [x(2), y([0n, -1n])]);
    await writeH5(h5('nan-label'), [x(2), { name: 'train_set_y', data: Float64Array.from([0, NaN]), shape: [2] }]);
    await writeH5(h5('fraction'), [x(2), { name: 'train_set_y', data: Float64Array.from([0, 1.5]), shape: [2] }]);
    await writeH5(h5('y-matrix'), [x(4), { name: 'train_set_y', data: BigInt64Array.from([0n, 1n, 0n, 1n]), shape: [2, 2] }]);
    await writeH5(h5('float-pixels'), [{ name: 'train_set_x', data: new Float64Array(2 * 4 * 4 * 3), shape: [2, 4, 4, 3] }, y([0n, 1n])]);
    await writeH5(h5('five-channels'), [x(2, 4, 5), y([0n, 1n])]);
    await writeH5(h5('rank-2'), [{ name: 'train_set_x', data: new Uint8Array(8), shape: [2, 4] }, y([0n, 1n])]);
    await writeH5(h5('names-long'), [x(2), y([0n, 1n]), { name: 'list_classes', data: ['a', 'b'.repeat(3000)], shape: [2] }]);
    await h5wasm.ready;
    const linked = new h5wasm.File(h5('external-link'), 'w');
    linked.create_external_link(h5('wrap'), 'train_set_x', 'train_set_x');
    linked.create_dataset({ name: 'train_set_y', data: BigInt64Array.from([0n, 1n]), shape: [2] });
    linked.close();
    const real = readFileSync(h5('billion'));
    writeFileSync(h5('truncated'), real.subarray(0, Math.floor(real.length / 3)));
    writeFileSync(h5('signature-only'), real.subarray(0, 8));
    await assertAllRefused([
      [['train', '--data', h5('zero-dim'), ...CPU], /'train_set_x' has shape \[2, 0, 8, 3\], with a zero dimension/],
      [['train', '--data', h5('zero-images'), ...CPU], /with a zero dimension|holds no images/],
      [['train', '--data', h5('huge-x'), ...CPU], /declares shape \[100000000, 8, 8, 3\], 19200000000 bytes, more than the 1 GiB the HDF5 reader can hold/],
      [['train', '--data', h5('beyond-file'), ...CPU], /declares shape \[100000, 8, 8, 3\], 19200000 bytes, more than the file's \d+ bytes can hold/],
      [['train', '--data', h5('huge-y'), ...CPU], /holds 2 images but 'train_set_y' holds 400000000 labels/],
      [['train', '--data', h5('huge-classes'), ...CPU], /'list_classes' names 50000000 classes, more than the 100000 allowed/],
      [['train', '--data', h5('wrap'), ...CPU], /'train_set_y'\[1\] = 4294967297 is larger than the largest class index allowed \(99999\)/],
      [['train', '--data', h5('billion'), ...CPU], /'train_set_y'\[1\] = 1000000000 is larger than the largest class index/],
      [['train', '--data', h5('int64-max'), ...CPU], /is larger than the largest class index/],
      [['train', '--data', h5('negative'), ...CPU], /'train_set_y'\[1\] = -1 is not a class index/],
      [['train', '--data', h5('nan-label'), ...CPU], /'train_set_y'\[1\] = NaN is not a class index/],
      [['train', '--data', h5('fraction'), ...CPU], /= 1.5 is not a class index/],
      [['train', '--data', h5('y-matrix'), ...CPU], /has shape \[2, 2\], expected N labels/],
      [['train', '--data', h5('float-pixels'), ...CPU], /expected uint8 pixels/],
      [['train', '--data', h5('five-channels'), ...CPU], /has 5 channels, expected 1 or 3/],
      [['train', '--data', h5('rank-2'), ...CPU], /expected N x H x W x C/],
      [['train', '--data', h5('names-long'), ...CPU], /'list_classes'\[1\] is longer than 1024 characters/],
      [['train', '--data', h5('external-link'), ...CPU], /'train_set_x' is a link to another file \(.*wrap\.h5\); links out of the file are not followed/],
      [['train', '--data', h5('truncated'), ...CPU], /cannot read the HDF5 file \(truncated or corrupt\)/],
      [['train', '--data', h5('signature-only'), ...CPU], /cannot read the HDF5 file|not an HDF5 file/],
    ]);
  });

  test('under a memory cap (ulimit -v) the HDF5 reader cannot start: one line, no stack, no dump of its source', async () => {
    const file = join(root, 'small.h5');
    await writeH5(file, [x(4), y([0n, 1n, 0n, 1n])]);
    const r = await resnet(['train', '--data', file, ...CPU, '--out', join(root, 'capped')], { virtualMemoryKb: 3_000_000 });
    assertRefused(r, /cannot start the HDF5 reader \(h5wasm\)/);
  });
});

describe('image folders and files', () => {
  before(async () => {
    // `evaluate` needs a model of the fixture's classes.
    await trainRun({ ...defaultOptions(data), model: 'tiny-resnet', epochs: 1, batchSize: 4, valSplit: 0, backend: 'cpu', out: join(root, 'run') }, { progress: silent });
  });

  test('a 16000 x 16000 photo first in a folder, odd files where images belong, absurd image sizes', async () => {
    const giant = join(root, 'giant');
    cpSync(data, giant, { recursive: true });
    writeFileSync(join(giant, 'blue', '0-giant.png'), bigPngHeader(16000, 16000));
    const fifo = join(root, 'fifo');
    cpSync(data, fifo, { recursive: true });
    execFileSync('mkfifo', [join(fifo, 'red', 'pipe.png')]);
    const device = join(root, 'device');
    cpSync(data, device, { recursive: true });
    symlinkSync('/dev/zero', join(device, 'green', 'zero.png'));
    const empty = join(root, 'empty-png');
    cpSync(data, empty, { recursive: true });
    writeFileSync(join(empty, 'red', 'empty.png'), '');
    execFileSync('mkfifo', [join(root, 'data-fifo')]);
    const wide = join(root, 'wide');
    cpSync(data, wide, { recursive: true });
    await sharp({ create: { width: 3000, height: 4, channels: 3, background: '#808080' } }).png().toFile(join(wide, 'blue', '0-wide.png'));
    await assertAllRefused([
      [['train', '--data', giant, ...CPU], /0-giant\.png: image is 16000x16000 pixels, more than the 134 megapixels allowed/],
      [['predict', '--model', join(root, 'run'), '--backend', 'cpu', join(giant, 'blue', '0-giant.png')], /image is 16000x16000 pixels/],
      [['train', '--data', fifo, ...CPU], /pipe\.png: not a file/],
      [['train', '--data', device, ...CPU], /zero\.png: not a file/],
      [['train', '--data', empty, ...CPU], /empty\.png: not a readable JPEG\/PNG image/],
      [['train', '--data', join(root, 'data-fifo'), ...CPU], /data-fifo: not a file or folder \(a device, pipe or socket\)/],
      [['train', '--data', '/dev/zero', ...CPU], /not a file or folder/],
      [['train', '--data', data, ...CPU, '--image-size', '20000'], /--image-size must be a whole number of pixels from 1 to 2048, got '20000'/],
      [['train', '--data', data, ...CPU, '--image-size', '0'], /--image-size must be a whole number of pixels/],
      [['train', '--data', data, ...CPU, '--image-size', '1e400'], /--image-size must be a number/],
      [['predict', '--model', join(root, 'run'), '--backend', 'cpu', root], /unsupported image file extension/],
    ]);
    // A photo of another size (even 4x3000) is no error: mixed sizes are resized to one size, with a
    // notice naming an example (src/data/folder.ts); only an explicit --image-size is held to the limit.
    const r = await resnet(['train', '--data', wide, ...CPU, '--out', join(root, 'wide-run')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /resizing 1 of \d+ images to (\d+)x\1, .*0-wide\.png is 4x3000\); --image-size chooses the size/);
  });

  test('class folders that are symbolic links: followed with a notice; broken links and loops are errors', async () => {
    const linked = join(root, 'linked');
    mkdirSync(linked);
    for (const name of ['blue', 'green']) cpSync(join(data, name), join(linked, name), { recursive: true });
    symlinkSync(join(data, 'red'), join(linked, 'red'));
    const r = await resnet(['evaluate', '--model', join(root, 'run'), '--data', linked, '--backend', 'cpu', '--json', '--out', join(root, 'eval')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), `resnet: note: ${linked}: followed 1 class folder that is a symbolic link: red`);
    const result = JSON.parse(r.stdout);
    assert.deepEqual(result.classes, ['blue', 'green', 'red']);
    assert.equal(result.images, 6); // 2 per class, red's through the link
    const broken = join(root, 'broken');
    cpSync(data, broken, { recursive: true });
    symlinkSync(join(root, 'nowhere'), join(broken, 'white'));
    const loop = join(root, 'loop');
    cpSync(data, loop, { recursive: true });
    symlinkSync(join(loop, 'black'), join(loop, 'white'));
    symlinkSync(join(loop, 'white'), join(loop, 'black'));
    await assertAllRefused([
      [['train', '--data', broken, ...CPU], /white: broken symbolic link \(its target is missing\)/],
      [['train', '--data', loop, ...CPU], /broken symbolic link \(a loop\)/],
    ]);
  });

  test('more class folders than classes allowed', async () => {
    const many = join(root, 'many');
    for (let i = 0; i <= 100_000; i++) mkdirSync(join(many, String(i)), { recursive: true });
    assertRefused(await resnet(['train', '--data', many, ...CPU]), /100001 class folders, more than the 100000 classes allowed/);
  });
});

describe('a folder of files mistaken for images', () => {
  test('a binary file with an image name, written block by block, is refused without being read whole', async () => {
    const folder = join(root, 'binary');
    cpSync(data, folder, { recursive: true });
    const fd = openSync(join(folder, 'red', 'big.jpg'), 'w');
    const block = Buffer.alloc(1 << 20, 0x41);
    for (let i = 0; i < 64; i++) writeSync(fd, block); // 64 MiB of 'A'
    closeSync(fd);
    assertRefused(await resnet(['train', '--data', folder, ...CPU]), /big\.jpg: not a readable JPEG\/PNG image/);
  });
});
