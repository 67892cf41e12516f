// Resize modes (squash, crop, pad) worked out by hand on a banded image, the same modes for files and
// for pixels already in memory (HDF5/MNIST), the model's input size as the default with one notice,
// and a gigantic JPEG first in a folder decoded without ever being held at full size.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadDataset } from '../../src/data/node.js';
import { loadImages } from '../../src/data/images.js';
import { writeH5, tempDir, writeImage } from './fixtures.js';

// 4 rows x 8 columns: columns 0-1 green, 2-5 red, 6-7 blue.
const [H, W] = [4, 8];
const band = (x: number) => (x < 2 ? [0, 255, 0] : x < 6 ? [255, 0, 0] : [0, 0, 255]);
const banded = Uint8Array.from({ length: H * W * 3 }, (_, i) => band(Math.floor(i / 3) % W)[i % 3]);
const at = (levels: Uint8Array, width: number, y: number, x: number) => Array.from(levels.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));

describe('resize modes', () => {
  let dir: string;
  let h5: string;
  before(async () => {
    const base = await tempDir();
    dir = join(base, 'bands');
    await writeImage(join(dir, 'only', 'a.png'), banded, H, W, 3);
    h5 = join(base, 'bands.h5');
    await writeH5(h5, [
      { name: 'train_set_x', data: banded, shape: [1, H, W, 3] },
      { name: 'train_set_y', data: BigInt64Array.from([0n]), shape: [1] },
    ]);
  });

  it('crop keeps the centre at scale 1: 4x4 of 4x8 is the red band alone', async () => {
    for (const source of [dir, h5]) {
      const ds = await loadDataset(source, { imageSize: [4, 4], resize: 'crop' });
      assert.deepEqual(ds.images, Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => [255, 0, 0][i % 3]), source);
    }
  });

  it('pad letterboxes at scale 1: 8x8 of 4x8 is 2 black rows, the image, 2 black rows', async () => {
    for (const source of [dir, h5]) {
      const ds = await loadDataset(source, { imageSize: [8, 8], resize: 'pad' });
      const want = new Uint8Array(8 * 8 * 3);
      want.set(banded, 2 * 8 * 3);
      assert.deepEqual(ds.images, want, source);
    }
  });

  it('squash stretches: 4x4 keeps all three bands (green left, blue right)', async () => {
    for (const source of [dir, h5]) {
      const ds = await loadDataset(source, { imageSize: [4, 4] });
      const [left, right] = [at(ds.images, 4, 1, 0), at(ds.images, 4, 1, 3)];
      assert.ok(left[1] > 200 && left[0] < 60, `left ${left}`);
      assert.ok(right[2] > 200 && right[0] < 60, `right ${right}`);
    }
  });

  it('loadImages (predict) prepares a file as the folder reader does, in every mode', async () => {
    for (const mode of ['squash', 'crop', 'pad'] as const) {
      const pixels = await loadImages([join(dir, 'only', 'a.png')], [6, 6], 3, mode);
      const ds = await loadDataset(dir, { imageSize: [6, 6], resize: mode });
      assert.deepEqual(pixels, Float32Array.from(ds.images, (v) => v / 255), mode);
    }
  });

  it("the model's size is the default when none is asked for: HDF5 pixels resized, one notice", async () => {
    const lines: string[] = [];
    const ds = await loadDataset(h5, { defaultSize: { size: [6, 6], reason: "tiny's input size" }, log: (l) => lines.push(l) });
    assert.deepEqual(ds.shape, [1, 6, 6, 3]);
    assert.deepEqual(lines, ["resizing all 1 images from 4x8 to 6x6, tiny's input size (--resize squash); --image-size chooses the size"]);
    const folderLines: string[] = [];
    const folder = await loadDataset(dir, { defaultSize: { size: [6, 6], reason: "tiny's input size" }, log: (l) => folderLines.push(l) });
    assert.deepEqual(folder.shape, [1, 6, 6, 3]);
    assert.equal(folderLines.length, 1);
    assert.match(folderLines[0], /^resizing 1 of 1 images to 6x6, tiny's input size \(--resize squash; e\.g\. .*a\.png is 4x8\)/);
  });

  it('a 16000x16000 JPEG first in a folder is shrunk while decoding: peak memory far below its 768 MB of pixels', async () => {
    const base = await tempDir();
    const folder = join(base, 'giant');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(folder, 'a'), { recursive: true });
    await mkdir(join(folder, 'b'), { recursive: true });
    // A gradient, so the JPEG holds real content; libvips writes it in strips, without the full image in memory.
    await sharp({ create: { width: 16000, height: 16000, channels: 3, background: { r: 90, g: 140, b: 200 } } })
      .jpeg({ quality: 80 })
      .toFile(join(folder, 'a', '0-giant.jpg'));
    for (let i = 0; i < 3; i++) await writeImage(join(folder, 'b', `${i}.png`), banded, H, W, 3);
    const script = `
      const { loadDataset } = await import(${JSON.stringify(new URL('../../src/data/node.js', import.meta.url).href)});
      const lines = [];
      const ds = await loadDataset(${JSON.stringify(folder)}, { log: (l) => lines.push(l) });
      console.log(JSON.stringify({ shape: ds.shape, first: Array.from(ds.images.subarray(0, 3)), lines, maxRssMB: process.resourceUsage().maxRSS / 1024 }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000, cwd: fileURLToPath(new URL('.', import.meta.url)) });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    // The most common size (4x8) wins; the giant photo is resized to it, its colour kept.
    assert.deepEqual(out.shape, [4, H, W, 3]);
    out.first.forEach((v: number, c: number) => assert.ok(Math.abs(v - [90, 140, 200][c]) <= 3, `channel ${c}: ${v}`));
    assert.match(out.lines[0], /resizing 1 of 4 images to 4x8, the most common size .*0-giant\.jpg is 16000x16000/);
    // The whole image would be 768 MB of 8-bit pixels (3 GB as float32); Node itself takes ~60 MB.
    assert.ok(out.maxRssMB < 300, `peak RSS ${out.maxRssMB} MB`);
  });
});
