// Batch sources: the in-memory source (the browser's) and the Node worker pipeline, over data in
// memory or in a file, must give the same batches, bit for bit, for the same requests; the pipeline
// works a bounded number of batches ahead and can be left early.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { augmentPixels, memorySource, mulberry32, plainRequests, type Batch, type BatchRequest, type ImageDataset } from '../../src/data/index.js';
import { BatchWorkers, workerExecArgv } from '../../src/data/pipeline.js';
import type { StoredDataset } from '../../src/data/store.js';
import { tempDir } from './fixtures.js';

const [N, H, W, C, CLASSES] = [23, 5, 6, 3, 4];
const random = mulberry32(9);
const ds: ImageDataset = {
  images: Uint8Array.from({ length: N * H * W * C }, () => Math.floor(random() * 256)),
  labels: Int32Array.from({ length: N }, (_, i) => (i * 7) % CLASSES),
  shape: [N, H, W, C],
  classNames: ['a', 'b', 'c', 'd'],
  source: 'memory',
};
const AUGMENT = { shift: 0.1, rotation: 10, brightness: 0.1, contrast: 0.2, flip: true };

/** Seven batches over `positions` of the source: sizes 4 (last 2 or 3), smoothing and augmentation on some. */
function requests(size: number): BatchRequest[] {
  const order = Array.from({ length: size }, (_, i) => (i * 5 + 3) % size);
  const out: BatchRequest[] = [];
  for (let start = 0, k = 0; start < size; start += 4, k++) {
    out.push({
      indices: order.slice(start, start + 4),
      labelSmoothing: k % 2 === 0 ? 0.1 : 0,
      augment: k % 3 === 1 ? null : { options: AUGMENT, seed: 100 + k },
    });
  }
  return out;
}

async function collect(batches: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

describe('batch sources', () => {
  let dir: string;
  const pools: BatchWorkers[] = [];
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });
  const pool = (data: StoredDataset, workers = 1, depth?: number) => {
    const p = new BatchWorkers(data, { workers, depth });
    pools.push(p);
    return p;
  };
  const stored = (store: StoredDataset['store']): StoredDataset => ({ store, labels: ds.labels, shape: ds.shape, classNames: ds.classNames, source: 'memory', resize: 'squash' });

  it('memorySource: pixels / 255, targets smoothed, augmentation exactly augmentPixels with the request seed', async () => {
    const positions = Int32Array.from([4, 0, 9, 13, 2]);
    const source = memorySource(ds, positions);
    assert.equal(source.size, 5);
    assert.deepEqual([...source.labels], [...positions].map((p) => ds.labels[p]));
    const [batch] = await collect(source.batches([{ indices: [3, 1], labelSmoothing: 0.2, augment: { options: AUGMENT, seed: 5 } }]));
    const L = H * W * C;
    const plain = new Float32Array(2 * L);
    [13, 0].forEach((p, i) => ds.images.subarray(p * L, (p + 1) * L).forEach((v, j) => (plain[i * L + j] = v / 255)));
    assert.deepEqual(batch.pixels, augmentPixels(plain, [2, H, W, C], AUGMENT, 5));
    assert.deepEqual([...batch.labels], [ds.labels[13], ds.labels[0]]);
    for (let i = 0; i < 2; i++) {
      for (let k = 0; k < CLASSES; k++) {
        const want = k === batch.labels[i] ? 0.8 + 0.2 / CLASSES : 0.2 / CLASSES;
        assert.ok(Math.abs(batch.targets[i * CLASSES + k] - want) < 1e-7);
      }
    }
    await assert.rejects(collect(source.batches([{ indices: [5] }])), RangeError);
  });

  it('the worker pipeline gives the memory source\'s batches bit for bit, from memory and from a file, with 1 or 2 workers', async () => {
    const positions = Int32Array.from({ length: 17 }, (_, i) => (i * 3) % N);
    const want = await collect(memorySource(ds, positions).batches(requests(17)));
    const file = join(dir, 'pixels.bin');
    const header = new Uint8Array(13); // the store's offset skips it
    await writeFile(file, Buffer.concat([header, ds.images]));
    for (const [name, store, workers] of [
      ['memory, 1 worker', { kind: 'memory', levels: ds.images }, 1],
      ['memory, 2 workers', { kind: 'memory', levels: ds.images }, 2],
      ['file, 2 workers', { kind: 'file', path: file, offset: 13 }, 2],
    ] as const) {
      const got = await collect(pool(stored(store), workers).source(positions).batches(requests(17)));
      assert.equal(got.length, want.length, name);
      got.forEach((b, k) => {
        assert.deepEqual(b.pixels, want[k].pixels, `${name}: batch ${k} pixels`);
        assert.deepEqual(b.targets, want[k].targets, `${name}: batch ${k} targets`);
        assert.deepEqual(b.labels, want[k].labels, `${name}: batch ${k} labels`);
      });
    }
  });

  it('works at most `depth` batches ahead of its consumer, and can be left early', async () => {
    const source = pool(stored({ kind: 'memory', levels: ds.images }), 1, 3).source();
    let pulled = 0;
    function* counted(): Generator<BatchRequest> {
      for (let k = 0; k < 1000; k++) {
        pulled++;
        yield { indices: [k % N] };
      }
    }
    let seen = 0;
    for await (const batch of source.batches(counted())) {
      assert.equal(batch.size, 1);
      seen++;
      assert.ok(pulled <= seen + 3, `${pulled} requests taken with ${seen} batches consumed`);
      if (seen === 5) break;
    }
    assert.ok(pulled <= 8);
    // The pool still serves after an abandoned iteration.
    const again = await collect(source.batches(plainRequests([0, 1, 2], 2)));
    assert.deepEqual(again.map((b) => b.size), [2, 1]);
  });

  it('workers start under `node -e` too: the options about the main script are not passed on', () => {
    assert.deepEqual(workerExecArgv(['--input-type=module', '--max-old-space-size=4000', '-e', 'code()', '--expose-gc']), ['--max-old-space-size=4000', '--expose-gc']);
    assert.deepEqual(workerExecArgv(['--eval=x', '-p', 'y', '--no-warnings']), ['--no-warnings']);
    const module = JSON.stringify(new URL('../../src/data/pipeline.js', import.meta.url).href);
    const code = `const { BatchWorkers } = await import(${module});
      const levels = new Uint8Array(new SharedArrayBuffer(12)).fill(51);
      const pool = new BatchWorkers({ store: { kind: 'memory', levels }, labels: Int32Array.from([0, 1, 0]), shape: [3, 2, 2, 1], classNames: ['a', 'b'], source: 'x', resize: 'squash' });
      for await (const b of pool.source().batches([{ indices: [1, 2] }])) console.log(b.pixels[0], b.size);
      await pool.close();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${51 / 255 === Math.fround(51 / 255) ? 51 / 255 : Math.fround(51 / 255)} 2`);
  });

  it('a missing store file is a DataError naming it, not a hang', async () => {
    const gone = join(dir, 'truncated.bin');
    await writeFile(gone, ds.images.subarray(0, 10));
    const source = pool(stored({ kind: 'file', path: gone, offset: 0 })).source();
    await assert.rejects(collect(source.batches([{ indices: [3] }])), (e: Error) => e.name === 'DataError' && e.message.includes(gone));
  });
});
