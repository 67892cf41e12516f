// The decoded-data cache and data larger than the memory allowed: a second read of an unchanged
// folder decodes nothing; a change of a file or of the decode options decodes again; the data folder
// is never written to; a cache that cannot be written costs a notice, not the run; a data set larger
// than maxMemory stays in the cache file.
import assert from 'node:assert/strict';
import { readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DataError } from '../../src/data/index.js';
import { loadDataset, openDataset } from '../../src/data/node.js';
import { cacheKey, defaultCacheDir } from '../../src/data/cache.js';
import { pattern, tempDir, writeImage } from './fixtures.js';

const [H, W] = [4, 5];

describe('decoded-data cache', () => {
  let root: string;
  let cacheDir: string;
  before(async () => {
    const base = await tempDir();
    root = join(base, 'data');
    cacheDir = join(base, 'cache');
    for (const [name, seeds] of Object.entries({ cat: [1, 2, 3], dog: [4, 5] })) {
      for (const seed of seeds) await writeImage(join(root, name, `${seed}.png`), pattern(H * W * 3, seed), H, W, 3);
    }
    // Whole-second modification times: a time with a fraction of a millisecond (as the file system sets
    // it) does not survive statSync + utimesSync exactly (it came back 1 ms later), which made the
    // "same modification time" step below miss the cache at random.
    const when = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    for (const file of readdirSync(root, { recursive: true, withFileTypes: true })) if (file.isFile()) utimesSync(join(file.parentPath ?? file.path, file.name), when, when);
  });

  it('a second read of the unchanged folder comes from the cache; a changed file is decoded again', async () => {
    // A whole second as the file's time: utimes takes a Date through a float of seconds, which can
    // come back a millisecond short of a time with milliseconds (and change the cache key).
    const whole = new Date(Math.floor(Date.now() / 1000) * 1000 - 10_000);
    utimesSync(join(root, 'cat', '1.png'), whole, whole);
    const before = readdirSync(root, { recursive: true }).sort();
    const lines: string[] = [];
    const first = await openDataset(root, { cacheDir, log: (l) => lines.push(l) });
    assert.equal(first.store.kind, 'memory');
    assert.match(lines.at(-1)!, /decoded 5 images .* kept in the cache/);
    assert.deepEqual(readdirSync(root, { recursive: true }).sort(), before, 'nothing is written into the data folder');

    // Same size, same modification time, other bytes: only a cached read can still succeed.
    const file = join(root, 'cat', '1.png');
    const { size, atime, mtime } = statSync(file);
    writeFileSync(file, Buffer.alloc(size, 7));
    utimesSync(file, atime, mtime);
    const second = await openDataset(root, { cacheDir, log: (l) => lines.push(l) });
    assert.match(lines.at(-1)!, /5 decoded images .* from the cache/);
    assert.deepEqual(second.labels, first.labels);
    assert.deepEqual(second.shape, first.shape);
    assert.deepEqual(second.classNames, ['cat', 'dog']);
    assert.ok(second.store.kind === 'memory' && first.store.kind === 'memory');
    assert.deepEqual(second.store.levels, first.store.levels);

    // A newer modification time changes the key: the (now garbage) file is decoded, and refused.
    utimesSync(file, atime, new Date(mtime.getTime() + 5000));
    await assert.rejects(openDataset(root, { cacheDir }), (e: Error) => e instanceof DataError && e.message.includes('not a readable'));
    await writeImage(file, pattern(H * W * 3, 1), H, W, 3);
  });

  it('the key covers the decode options: another size or resize mode decodes again', async () => {
    const lines: string[] = [];
    await openDataset(root, { cacheDir, imageSize: [3, 3], log: (l) => lines.push(l) });
    await openDataset(root, { cacheDir, imageSize: [3, 3], resize: 'crop', log: (l) => lines.push(l) });
    await openDataset(root, { cacheDir, imageSize: [3, 3], resize: 'crop', log: (l) => lines.push(l) });
    assert.deepEqual(lines.map((l) => (/decoded 5 images/.test(l) ? 'decoded' : /from the cache/.test(l) ? 'cached' : l)), ['decoded', 'decoded', 'cached']);
    assert.notEqual(cacheKey({ a: 1 }), cacheKey({ a: 2 }));
    assert.equal(cacheKey({ a: 1 }), cacheKey({ a: 1 }));
  });

  it('the default folder follows XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/resnet-ts');
    assert.match(defaultCacheDir({}), /\/\.cache\/resnet-ts$/);
    assert.match(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }), /\/\.cache\/resnet-ts$/, 'a relative XDG path is ignored, as the spec says');
  });

  it('a cache folder that cannot be written: one notice, the data still loads', async () => {
    const blocked = join(await tempDir(), 'a-file');
    writeFileSync(blocked, 'not a folder');
    const lines: string[] = [];
    const ds = await loadDataset(root, { cacheDir: join(blocked, 'cache'), log: (l) => lines.push(l) });
    assert.deepEqual(ds.shape, [5, H, W, 3]);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^cannot keep decoded images in .*a-file\/cache \(ENOTDIR\)/);
  });

  it('more than maxMemory: the pixels stay in the cache file, the same bytes; without a cache it is one DataError', async () => {
    const inMemory = await loadDataset(root);
    const bytes = 5 * H * W * 3;
    const streamed = await openDataset(root, { cacheDir: join(cacheDir, 'small'), maxMemory: bytes - 1 });
    assert.equal(streamed.store.kind, 'file');
    if (streamed.store.kind === 'file') assert.deepEqual(new Uint8Array(await readFile(streamed.store.path)), inMemory.images);
    // Found again in the cache: still streamed.
    const again = await openDataset(root, { cacheDir: join(cacheDir, 'small'), maxMemory: bytes - 1 });
    assert.equal(again.store.kind, 'file');
    const fits = await openDataset(root, { cacheDir: join(cacheDir, 'small'), maxMemory: bytes });
    assert.equal(fits.store.kind, 'memory');
    await assert.rejects(openDataset(root, { maxMemory: 100 }), (e: Error) => e instanceof DataError && /more than the memory allowed .*--max-memory.*--cache-dir/.test(e.message));
  });
});
