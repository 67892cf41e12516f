// A run's data (prepareRunData): the image size (asked for, the model's own, or the data's), the
// notice line, the split, and the same batches whether the pixels are in memory, streamed from the
// cache file, or assembled on the training thread.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Batch } from '../../src/data/index.js';
import { UserError } from '../../src/errors.js';
import { prepareRunData, type RunData } from '../../src/train/data.js';
import { epochRequests } from '../../src/train/loop.js';
import { defaultOptions, type TrainOptions } from '../../src/train/options.js';
import type { Progress } from '../../src/train/progress.js';
import { tempDir, writeImageFolder } from '../cli/helpers.js';

let root = '';
let data = '';
const recorder = () => {
  const lines: string[] = [];
  const progress: Progress = { startEpoch() {}, step() {}, endEpoch() {}, log: (l) => lines.push(l) };
  return { lines, progress };
};
const options = (over: Partial<TrainOptions>): TrainOptions => ({ ...defaultOptions(data), cacheDir: join(root, 'cache'), valSplit: 0.25, batchSize: 4, ...over });

async function epochBatches(run: RunData, o: TrainOptions): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of run.train.batches(epochRequests(o, 0, run.train.size))) out.push(b);
  return out;
}

describe('prepareRunData', () => {
  before(async () => {
    root = tempDir();
    data = await writeImageFolder(join(root, 'data'));
  });

  test("resnet50's own 64x64 is the default size, with one notice; --image-size overrides it quietly; other models keep the data's size", async () => {
    const course = recorder();
    const r50 = await prepareRunData(options({ model: 'resnet50' }), course.progress);
    await r50.close();
    assert.deepEqual(r50.inputShape, [64, 64, 3]);
    assert.deepEqual(r50.resize, { mode: 'squash', size: [64, 64] });
    const notices = course.lines.filter((l) => l.startsWith('resizing'));
    assert.equal(notices.length, 1);
    assert.match(notices[0], /^resizing 12 of 12 images to 64x64, resnet50's input size \(--resize squash; e\.g\. .*\.png is 8x8\); --image-size chooses the size$/);

    const sized = recorder();
    const s16 = await prepareRunData(options({ model: 'resnet50', imageSize: 16, resize: 'crop' }), sized.progress);
    await s16.close();
    assert.deepEqual(s16.resize, { mode: 'crop', size: [16, 16] });
    assert.deepEqual(sized.lines.filter((l) => l.startsWith('resizing')), []);

    const tiny = await prepareRunData(options({ model: 'tiny-resnet' }), recorder().progress);
    await tiny.close();
    assert.deepEqual(tiny.inputShape, [8, 8, 3]);
    assert.equal(tiny.images, 12);
    assert.equal(tiny.train.size + tiny.val!.size, 12);
    assert.equal(tiny.val!.size, 3, 'a quarter of each class of 4 held out');
  });

  test('the same epoch of batches from memory (1 or 2 workers), the training thread, and the cache file (data over --max-memory)', async () => {
    const o = options({ model: 'tiny-resnet', augment: { shift: 0.1, rotation: 10, brightness: 0.1, contrast: 0.1, flip: true }, labelSmoothing: 0.1 });
    const runs = {
      worker: await prepareRunData(o, recorder().progress),
      twoWorkers: await prepareRunData({ ...o, dataWorkers: 2 }, recorder().progress),
      trainingThread: await prepareRunData({ ...o, dataWorkers: 0 }, recorder().progress),
      streamed: await prepareRunData({ ...o, maxMemory: 1e-3 }, recorder().progress), // 1 KB: the 2.3 KB of pixels do not fit
    };
    try {
      assert.equal(runs.streamed.streaming, true);
      assert.equal(runs.worker.streaming, false);
      const want = await epochBatches(runs.trainingThread, o);
      assert.equal(want.length, 3);
      for (const [name, run] of Object.entries(runs)) {
        assert.deepEqual([...run.train.labels], [...runs.trainingThread.train.labels], name);
        assert.deepEqual(await epochBatches(run, o), want, name);
      }
    } finally {
      await Promise.all(Object.values(runs).map((r) => r.close()));
    }
    await assert.rejects(prepareRunData({ ...o, maxMemory: 1e-3, dataWorkers: 0 }, recorder().progress), (e: Error) => e instanceof UserError && /--data-workers 0 needs the data in memory/.test(e.message));
  });
});
