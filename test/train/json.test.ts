// NaN and infinities stay visible in the run files and `evaluate --json` (src/train/json.ts): written
// as "NaN" / "Infinity" / "-Infinity" instead of null, and read back as numbers by --resume's
// loader; the learning curves still render.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNumber, reviveNumbers, toJson } from '../../src/train/json.js';
import { loadLoopState } from '../../src/train/checkpoint.js';
import { freshState } from '../../src/train/loop.js';
import { curvesSvg, type EpochRecord } from '../../src/plot/curves.js';

const record = (epoch: number, valLoss: number | null): EpochRecord =>
  ({ epoch, loss: 0.5 / epoch, accuracy: 0.8, val_loss: valLoss, val_accuracy: valLoss === null ? null : 0.7, lr: 1e-3, seconds: 2 });

test('toJson writes non-finite numbers as strings (JSON.stringify would write null), everything else as JSON.stringify does', () => {
  assert.equal(JSON.stringify({ loss: NaN }), '{"loss":null}');
  assert.equal(toJson({ loss: NaN, a: [Infinity, -Infinity, 1.5, null], s: 'NaN' }), '{"loss":"NaN","a":["Infinity","-Infinity",1.5,null],"s":"NaN"}');
  assert.equal(toJson({ a: 1 }, 2), JSON.stringify({ a: 1 }, null, 2));
  assert.ok(Number.isNaN(readNumber('NaN')));
  assert.equal(readNumber('Infinity'), Infinity);
  assert.equal(readNumber('-Infinity'), -Infinity);
  assert.equal(readNumber(null), null);
  assert.equal(readNumber('red'), 'red');
  const back = reviveNumbers(JSON.parse(toJson(record(1, NaN))) as EpochRecord, ['val_loss', 'loss']);
  assert.ok(Number.isNaN(back.val_loss));
  assert.equal(back.loss, 0.5);
});

test('a checkpoint state with a NaN validation loss keeps it through state.json, and null stays null', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-nan-state-'));
  try {
    const state = { ...freshState(), epoch: 2, history: [record(1, null), record(2, NaN)], best: { accuracy: 0.8, loss: Infinity }, bestEpoch: 2 };
    writeFileSync(join(dir, 'state.json'), toJson(state));
    const loaded = await loadLoopState(dir);
    assert.equal(loaded.history[0].val_loss, null, 'no validation split: null');
    assert.ok(Number.isNaN(loaded.history[1].val_loss), 'a NaN validation loss: NaN');
    assert.equal(loaded.best!.loss, Infinity);
    assert.deepEqual(loaded.history.map((r) => r.loss), [0.5, 0.25]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the learning curves render a history with a NaN validation loss (that point is left out)', async () => {
  const svg = await curvesSvg([record(1, 0.9), record(2, NaN), record(3, 0.7)]);
  assert.match(svg, /^<svg/);
});
