// The HDF5 reader, on tiny files in the course layout written with h5wasm into a temp dir.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DataError } from '../../src/data/index.js';
import { loadDataset } from '../../src/data/node.js';
import { pattern, tempDir, writeH5, type H5Dataset } from './fixtures.js';

const [N, H, W, C] = [3, 2, 2, 3];
const pixels = pattern(N * H * W * C, 9);
const x = (prefix: string, over: Partial<H5Dataset> = {}): H5Dataset => ({ name: `${prefix}_set_x`, data: pixels, shape: [N, H, W, C], dtype: '<B', ...over });
const y = (prefix: string, labels: number[], shape = [labels.length]): H5Dataset => ({
  name: `${prefix}_set_y`,
  data: BigInt64Array.from(labels, BigInt),
  shape,
  dtype: '<q',
});
const classes = (count: number): H5Dataset => ({ name: 'list_classes', data: BigInt64Array.from({ length: count }, (_, i) => BigInt(i)), shape: [count], dtype: '<q' });

async function rejectsWith(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DataError, `expected a DataError, got ${String(error)}`);
    for (const part of parts) assert.ok(error.message.includes(part), `'${error.message}' should mention '${part}'`);
    return true;
  });
}

describe('HDF5 reader', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });

  it('reads train_set_x / train_set_y / list_classes: pixels exactly (8-bit levels)', async () => {
    const file = join(dir, 'train.h5');
    await writeH5(file, [x('train'), y('train', [1, 0, 2]), classes(3)]);
    const ds = await loadDataset(file);
    assert.deepEqual(ds.shape, [N, H, W, C]);
    assert.deepEqual([...ds.labels], [1, 0, 2]);
    assert.deepEqual(ds.classNames, ['0', '1', '2']);
    assert.equal(ds.source, file);
    assert.deepEqual(ds.images, Uint8Array.from(pixels));
  });

  it('reads the test split with string class names and 1 x N labels', async () => {
    const file = join(dir, 'test.hdf5');
    await writeH5(file, [x('test'), y('test', [1, 1, 0], [1, 3]), { name: 'list_classes', data: ['cat', 'dog'], shape: [2] }]);
    const ds = await loadDataset(file);
    assert.deepEqual(ds.classNames, ['cat', 'dog']);
    assert.deepEqual([...ds.labels], [1, 1, 0]);
  });

  it('without list_classes the classes are 0..max label; N x H x W is greyscale', async () => {
    const file = join(dir, 'grey.h5');
    await writeH5(file, [x('train', { data: pixels.subarray(0, N * H * W), shape: [N, H, W] }), y('train', [0, 3, 1])]);
    const ds = await loadDataset(file);
    assert.deepEqual(ds.shape, [N, H, W, 1]);
    assert.deepEqual(ds.classNames, ['0', '1', '2', '3']);
    assert.deepEqual(ds.images, Uint8Array.from(pixels.subarray(0, N * H * W)));
  });

  it('applies channels, imageSize and limit like the folder reader', async () => {
    const file = join(dir, 'convert.h5');
    await writeH5(file, [x('train'), y('train', [1, 0, 1]), classes(2)]);
    const grey = await loadDataset(file, { channels: 1 });
    assert.deepEqual(grey.shape, [N, H, W, 1]);
    for (let p = 0; p < N * H * W; p++) {
      const luma = 0.299 * pixels[3 * p] + 0.587 * pixels[3 * p + 1] + 0.114 * pixels[3 * p + 2];
      assert.ok(Math.abs(grey.images[p] - luma) <= 1, `pixel ${p}`);
    }
    const resized = await loadDataset(file, { imageSize: [4, 3] });
    assert.deepEqual(resized.shape, [N, 4, 3, C]);
    assert.ok(resized.images.some((v) => v > 0));
    const limited = await loadDataset(file, { limit: 2 });
    assert.deepEqual([...limited.labels], [1, 0]); // the first image of class 0 and of class 1
  });
});

describe('HDF5 errors name the file', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });

  it('a file that is not HDF5', async () => {
    const file = join(dir, 'fake.h5');
    await writeFile(file, 'not an HDF5 file at all'.repeat(40));
    await rejectsWith(loadDataset(file), file, 'not an HDF5 file');
  });

  it('a truncated HDF5 file (HDF5 also prints its diagnostics to stderr)', async () => {
    const whole = join(dir, 'whole.h5');
    await writeH5(whole, [x('train'), y('train', [0, 1, 0])]);
    const truncated = join(dir, 'truncated.h5');
    await writeFile(truncated, (await readFile(whole)).subarray(0, 1000));
    await rejectsWith(loadDataset(truncated), truncated, 'truncated or corrupt');
  });

  it('missing datasets', async () => {
    const file = join(dir, 'other.h5');
    await writeH5(file, [{ name: 'images', data: pixels, shape: [N, H, W, C], dtype: '<B' }, y('train', [0, 0, 0])]);
    await rejectsWith(loadDataset(file), file, 'train_set_x', 'found: images, train_set_y');
  });

  it('wrong rank, channels or dtype of the images', async () => {
    const rank = join(dir, 'rank.h5');
    await writeH5(rank, [x('train', { shape: [N, H * W * C] }), y('train', [0, 0, 0])]);
    await rejectsWith(loadDataset(rank), rank, 'train_set_x', `[${N}, ${H * W * C}]`);
    const twoChannels = join(dir, 'channels.h5');
    await writeH5(twoChannels, [x('train', { shape: [N, H, W + 1, 2] }), y('train', [0, 0, 0])]);
    await rejectsWith(loadDataset(twoChannels), twoChannels, '2 channels');
    const floats = join(dir, 'floats.h5');
    await writeH5(floats, [x('train', { data: Float64Array.from(pixels), dtype: '<d' }), y('train', [0, 0, 0])]);
    await rejectsWith(loadDataset(floats), floats, 'uint8');
  });

  it('label problems: count mismatch, out of range, negative, wrong shape', async () => {
    const count = join(dir, 'count.h5');
    await writeH5(count, [x('train'), y('train', [0, 1])]);
    await rejectsWith(loadDataset(count), count, '3 images', '2 labels');
    const range = join(dir, 'range.h5');
    await writeH5(range, [x('train'), y('train', [0, 1, 2]), classes(2)]);
    await rejectsWith(loadDataset(range), range, 'train_set_y', 'out of range');
    const negative = join(dir, 'negative.h5');
    await writeH5(negative, [x('train'), y('train', [0, -1, 0])]);
    await rejectsWith(loadDataset(negative), negative, '-1');
    const shape = join(dir, 'shape.h5');
    await writeH5(shape, [x('train'), y('train', [0, 1, 0, 1, 0, 1], [3, 2])]);
    await rejectsWith(loadDataset(shape), shape, 'train_set_y', '[3, 2]');
  });
});
