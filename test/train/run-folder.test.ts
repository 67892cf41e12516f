// The run-folder protocol: no checkpoint of an epoch whose weights, optimiser state or figures are not
// finite (the last good last/ and best/ stay byte for byte), and best/ rebuilt from last/ after a kill
// between the two writes.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../../src/tf.js';
import { UserError } from '../../src/errors.js';
import { lockRunFolder } from '../../src/io/lock.js';
import { loadLoopState, loadModelFolder, loadOptimizerState } from '../../src/train/checkpoint.js';
import { makeOptimizer, restoreOptimizerState } from '../../src/train/optimizer.js';
import { defaultOptions } from '../../src/train/options.js';
import type { Progress } from '../../src/train/progress.js';
import { repairRunFolder, saveEpoch } from '../../src/train/run-folder.js';
import { trainRun } from '../../src/train/run.js';
import { startEngine } from '../../src/engine/backends.js';
import { tempDir, writeImageFolder } from '../cli/helpers.js';

const silent: Progress = { startEpoch() {}, step() {}, endEpoch() {}, log() {} };
let root = '';
let run = '';

before(async () => {
  root = tempDir('resnet-run-folder-');
  const data = await writeImageFolder(join(root, 'data'), 2);
  run = (await trainRun({ ...defaultOptions(data), model: 'tiny-resnet', epochs: 1, batchSize: 4, valSplit: 0, backend: 'cpu', out: join(root, 'run') }, { progress: silent })).out;
  await startEngine('cpu');
});

const snapshot = (dir: string) => ['last', 'best'].flatMap((f) => ['model.json', 'weights.bin', 'state.json'].map((n) => readFileSync(join(dir, f, n))));

test('an epoch with a NaN weight, a NaN figure or a NaN optimiser moment is refused; nothing is written', async () => {
  const out = join(root, 'nan');
  cpSync(run, out, { recursive: true });
  const before = snapshot(out);
  const { model, metadata } = await loadModelFolder(join(out, 'last'));
  const optimizer = makeOptimizer('adam', 0.01, 0, 0.9);
  await restoreOptimizerState(optimizer, await loadOptimizerState(join(out, 'last')));
  const state = await loadLoopState(join(out, 'last'));
  const record = { ...state.history[0], epoch: 2 };
  const next = { ...state, epoch: 2, bestEpoch: 2, history: [...state.history, record] };
  const lock = await lockRunFolder(out);
  const writer = { out, lock, model, optimizer, metadata };
  const diverged = (what: RegExp) => (e: Error) =>
    e instanceof UserError && /^training diverged in epoch 2 \(/.test(e.message) && what.test(e.message) && /the last good checkpoint \(epoch 1\) stays in/.test(e.message);
  try {
    // A last step whose loss was finite but whose update made a weight NaN.
    const fc = model.getLayer('fc');
    const [kernel, bias] = fc.getWeights().map((w) => w.clone());
    const values = Float32Array.from(kernel.dataSync()); // a copy: the cpu engine's dataSync is the tensor's own storage
    values[0] = NaN;
    const nan = tf.tensor(values, kernel.shape);
    fc.setWeights([nan, bias]);
    await assert.rejects(saveEpoch(writer, next, true), diverged(/weight 'fc\/kernel' is not finite/));
    fc.setWeights([kernel, bias]);
    tf.dispose([kernel, bias, nan]);
    await assert.rejects(saveEpoch(writer, { ...next, history: [...state.history, { ...record, val_loss: NaN }] }, true), diverged(/val_loss = NaN/));
    const moments = await loadOptimizerState(join(out, 'last'));
    moments.tensors[0].values[0] = Infinity;
    await restoreOptimizerState(optimizer, moments);
    await assert.rejects(saveEpoch(writer, next, true), diverged(/optimizer state '.*' is not finite/));
    assert.deepEqual(snapshot(out), before);
    // Healthy again: the epoch is written, last/ then best/.
    await restoreOptimizerState(optimizer, await loadOptimizerState(join(out, 'last')));
    await saveEpoch(writer, next, true);
    assert.equal((await loadLoopState(join(out, 'best'))).epoch, 2);
  } finally {
    await lock.release();
    optimizer.dispose();
    model.dispose();
  }
});

test('repairRunFolder rebuilds best/ from last/ when last/ names its own epoch the best (a kill between them)', async () => {
  const out = join(root, 'between');
  cpSync(run, out, { recursive: true });
  rmSync(join(out, 'best'), { recursive: true });
  await repairRunFolder(out);
  for (const f of ['model.json', 'weights.bin', 'state.json']) assert.deepEqual(readFileSync(join(out, 'best', f)), readFileSync(join(out, 'last', f)));
  // A best/ from an older epoch is replaced the same way; one of the same epoch is left alone.
  const state = JSON.parse(readFileSync(join(out, 'best', 'state.json'), 'utf8'));
  assert.equal(state.epoch, 1);
});
