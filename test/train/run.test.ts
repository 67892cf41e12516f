// Whole runs through the library (trainRun / resumeRun) on 12 tiny PNGs with 'tiny-resnet' on the cpu engine.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync, truncateSync, cpSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tf from '../../src/tf.js';
import { UserError } from '../../src/errors.js';
import { loadModelFolder, recoverFolder } from '../../src/train/checkpoint.js';
import { defaultOptions, type TrainOptions } from '../../src/train/options.js';
import type { Progress } from '../../src/train/progress.js';
import { resumeRun, trainRun, type RunConfig } from '../../src/train/run.js';
import { startEngine } from '../../src/engine/backends.js';
import { tempDir, writeImageFolder } from '../cli/helpers.js';

const silent: Progress = { startEpoch() {}, step() {}, endEpoch() {}, log() {} };
let root = '';
let data = '';

function options(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  const cacheDir = join(root, 'cache');
  return { ...defaultOptions(data, 'course'), model: 'tiny-resnet', epochs: 2, batchSize: 4, lr: 0.01, valSplit: 0.25, backend: 'cpu', cacheDir, out: join(root, out), ...over };
}

const historyOf = (dir: string) => readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const withoutTimes = (h: Record<string, unknown>[]) => h.map(({ seconds: _, elapsed: __, eval_seconds: ___, ...rest }) => rest);

describe('trainRun / resumeRun', () => {
  before(async () => {
    root = tempDir();
    data = await writeImageFolder(join(root, 'data'));
  });

  test('a run writes config.json, history.jsonl, curves.svg, best/, last/ and the final model', async () => {
    const counts: number[] = []; // live tensors after each epoch, checkpoint writing included
    const r = await trainRun(options('a', { epochs: 3 }), { progress: { ...silent, endEpoch: () => counts.push(tf.memory().numTensors) } });
    assert.equal(r.ended, 'completed');
    assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);
    const config = JSON.parse(readFileSync(join(r.out, 'config.json'), 'utf8')) as RunConfig;
    assert.equal(config.options.model, 'tiny-resnet');
    assert.equal(config.options.lr, 0.01);
    assert.deepEqual(config.data, {
      source: data, images: 12, train: 9, validation: 3, classNames: ['blue', 'green', 'red'], inputShape: [8, 8, 3], resize: { mode: 'squash', size: [8, 8] },
    });
    assert.equal(config.engine, 'cpu');
    assert.equal(config.versions['tfjs-core'], tf.version_core);
    // By hand: convs 3*3*3*8+8 + 2*(3*3*8*8+8) = 1392, 3 BN x 4*8 = 96, dense 8*3+3 = 27; the BN moving
    // means and variances (3 x 2*8 = 48) are not trainable.
    assert.equal(config.model.parameters, 1515);
    assert.equal(config.model.trainableParameters, 1515 - 48);
    const history = historyOf(r.out);
    assert.deepEqual(history.map((h) => h.epoch), [1, 2, 3]);
    for (const h of history) {
      for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', 'seconds']) assert.equal(typeof h[key], 'number', key);
      assert.equal(h.lr, 0.01);
    }
    assert.match(readFileSync(join(r.out, 'curves.svg'), 'utf8'), /^<svg/);
    for (const f of ['model.json', 'weights.bin', 'optimizer.json', 'optimizer.bin', 'state.json']) assert.ok(existsSync(join(r.out, 'last', f)), f);
    const bestState = JSON.parse(readFileSync(join(r.out, 'best', 'state.json'), 'utf8'));
    assert.equal(bestState.epoch, r.state.bestEpoch);
    // The run folder's model is the best checkpoint.
    assert.deepEqual(readFileSync(join(r.out, 'weights.bin')), readFileSync(join(r.out, 'best', 'weights.bin')));
    const { model, metadata } = await loadModelFolder(r.out);
    assert.deepEqual(metadata, { model: 'tiny-resnet', classNames: ['blue', 'green', 'red'], inputShape: [8, 8, 3], epoch: r.state.bestEpoch, resize: { mode: 'squash', size: [8, 8] } });
    assert.deepEqual(model.outputs[0].shape, [null, 3]);
    model.dispose();
  });

  test('--eval-data: every epoch records test_loss and test_accuracy (with tta flip) and the elapsed time; nothing monitors them', async () => {
    const r = await trainRun(options('eval', { epochs: 2, evalData: data, tta: 'flip' }));
    const history = historyOf(r.out);
    for (const h of history) {
      assert.ok(h.test_accuracy >= 0 && h.test_accuracy <= 1);
      assert.ok(h.test_loss > 0);
      assert.ok(h.elapsed > 0);
      assert.ok(h.eval_seconds > 0 && h.eval_seconds < h.seconds);
    }
    assert.ok(history[1].elapsed > history[0].elapsed);
    // The best epoch is still chosen on the validation split.
    const best = history.reduce((b, h) => (h.val_accuracy > b.val_accuracy || (h.val_accuracy === b.val_accuracy && h.val_loss < b.val_loss) ? h : b));
    assert.equal(r.state.bestEpoch, best.epoch);
    await assert.rejects(trainRun(options('eval-bad', { evalData: join(root, 'nowhere') })), UserError);
  });

  test('--eval-every 2 over 3 epochs: the test set is evaluated after epochs 2 and 3 only', async () => {
    const history = historyOf((await trainRun(options('eval-every', { epochs: 3, evalData: data, evalEvery: 2 }))).out);
    assert.deepEqual(history.map((h) => h.test_accuracy !== undefined), [false, true, true]);
    assert.deepEqual(history.map((h) => h.test_loss !== undefined), [false, true, true]);
  });

  test('the run folder loads with tf.loadLayersModel over HTTP, as a browser loads it, with the same outputs', async () => {
    const folder = join(root, 'a');
    const server = createServer((req, res) => {
      const file = join(folder, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (!existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const viaHttp = await tf.loadLayersModel(`http://127.0.0.1:${port}/model.json`);
      const { model: viaFiles } = await loadModelFolder(folder);
      const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 7);
      const [a, b] = [viaHttp.predict(x) as tf.Tensor, viaFiles.predict(x) as tf.Tensor];
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
      tf.dispose([x, a, b]);
      viaHttp.dispose();
      viaFiles.dispose();
    } finally {
      server.close();
    }
  });

  test('an interrupted run resumed from last/ ends exactly like an uninterrupted one', async () => {
    const full = await trainRun(options('full'), { progress: silent });
    const cut = await trainRun(options('cut'), { progress: silent, stopAfterEpochs: 1 });
    assert.equal(cut.ended, 'interrupted');
    assert.equal(historyOf(cut.out).length, 1);
    assert.ok(!existsSync(join(cut.out, 'model.json')));
    assert.ok(existsSync(join(cut.out, 'best', 'model.json')));
    const resumed = await resumeRun(cut.out, {}, { progress: silent });
    assert.equal(resumed.ended, 'completed');
    assert.equal(resumed.state.epoch, 2);
    assert.deepEqual(withoutTimes(historyOf(cut.out)), withoutTimes(historyOf(full.out)));
    // Same batches, same optimiser state: the same weights, bit for bit, on the deterministic cpu engine.
    assert.deepEqual(readFileSync(join(cut.out, 'last', 'weights.bin')), readFileSync(join(full.out, 'last', 'weights.bin')));
    assert.deepEqual(readFileSync(join(cut.out, 'best', 'weights.bin')), readFileSync(join(full.out, 'best', 'weights.bin')));
    const config = JSON.parse(readFileSync(join(cut.out, 'config.json'), 'utf8')) as RunConfig;
    assert.equal(config.resumed.length, 1);
    assert.equal(config.resumed[0].fromEpoch, 1);
  });

  test('resuming a finished run with a higher --epochs continues it', async () => {
    cpSync(join(root, 'a'), join(root, 'more'), { recursive: true });
    const r = await resumeRun(join(root, 'more'), { epochs: 4 }, { progress: silent });
    assert.equal(r.state.epoch, 4);
    assert.deepEqual(historyOf(r.out).map((h) => h.epoch), [1, 2, 3, 4]);
  });

  test('without a validation split: val_* are null, the schedule shows in history (step: x0.1 at 50% and 75%)', async () => {
    const r = await trainRun(options('noval', { epochs: 4, valSplit: 0, schedule: 'step', optimizer: 'sgd' }), { progress: silent });
    const history = historyOf(r.out);
    assert.deepEqual(history.map((h) => h.val_loss), [null, null, null, null]);
    const expectedLr = [0.01, 0.01, 0.001, 0.0001];
    history.forEach((h, i) => assert.ok(Math.abs(h.lr - expectedLr[i]) <= 1e-15, `epoch ${i + 1}: lr ${h.lr}`)); // float64 rounding
    const config = JSON.parse(readFileSync(join(r.out, 'config.json'), 'utf8')) as RunConfig;
    assert.equal(config.data.train, 12);
    assert.equal(config.data.validation, 0);
  });

  test('a new run refuses a folder that holds one; resume refuses a folder without a checkpoint', async () => {
    await assert.rejects(trainRun(options('a'), { progress: silent }), (e: Error) => e instanceof UserError && /already holds a training run/.test(e.message));
    await assert.rejects(resumeRun(join(root, 'data')), (e: Error) => e instanceof UserError && /no config\.json/.test(e.message));
    await assert.rejects(startEngine('gpu'), (e: Error) => e instanceof UserError && /--backend must be one of/.test(e.message));
    await assert.rejects(loadModelFolder(join(root, 'data')), (e: Error) => e instanceof UserError && /holds no model\.json/.test(e.message));
    await assert.rejects(
      trainRun(options('small', { model: 'resnet50', imageSize: 8 }), { progress: silent }),
      (e: Error) => e instanceof UserError && /too small for model 'resnet50'/.test(e.message),
    );
  });

  test('damaged model folders give one UserError each', async () => {
    const damaged = join(root, 'damaged');
    cpSync(join(root, 'a', 'best'), damaged, { recursive: true });
    truncateSync(join(damaged, 'weights.bin'), 100);
    await assert.rejects(loadModelFolder(damaged), (e: Error) => e instanceof UserError && /weights hold 100 bytes/.test(e.message));
    writeFileSync(join(damaged, 'model.json'), '{"modelTopology": ');
    await assert.rejects(loadModelFolder(damaged), (e: Error) => e instanceof UserError && /not valid JSON/.test(e.message));
    writeFileSync(join(damaged, 'model.json'), '{"modelTopology": {}, "weightsManifest": [{}]}');
    await assert.rejects(loadModelFolder(damaged), (e: Error) => e instanceof UserError && /damaged weightsManifest|userDefinedMetadata/.test(e.message));
    const badTopology = JSON.parse(readFileSync(join(root, 'a', 'best', 'model.json'), 'utf8'));
    badTopology.modelTopology.config.layers[1].class_name = 'NoSuchLayer';
    cpSync(join(root, 'a', 'best', 'weights.bin'), join(damaged, 'weights.bin'));
    writeFileSync(join(damaged, 'model.json'), JSON.stringify(badTopology));
    await assert.rejects(loadModelFolder(damaged), (e: Error) => e instanceof UserError && /cannot build the model/.test(e.message));
  });

  test('damaged checkpoints refuse to resume with one UserError each', async () => {
    const badOptimizer = join(root, 'bad-optimizer');
    cpSync(join(root, 'a'), badOptimizer, { recursive: true });
    writeFileSync(join(badOptimizer, 'last', 'optimizer.json'), '{"name": "adam"}');
    await assert.rejects(resumeRun(badOptimizer, { epochs: 9 }), (e: Error) => e instanceof UserError && /damaged optimizer state/.test(e.message));
    const badState = join(root, 'bad-state');
    cpSync(join(root, 'a'), badState, { recursive: true });
    writeFileSync(join(badState, 'last', 'state.json'), '{"epoch": -1}');
    await assert.rejects(resumeRun(badState, { epochs: 9 }), (e: Error) => e instanceof UserError && /not a valid checkpoint state/.test(e.message));
  });

  test('a kill between the two renames of a checkpoint write is repaired on resume', async () => {
    const dir = join(root, 'a', 'last');
    renameSync(dir, `${dir}.old-12345`);
    await recoverFolder(dir);
    assert.ok(existsSync(join(dir, 'state.json')));
    assert.ok(!existsSync(`${dir}.old-12345`));
  });
});
