import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { epochLine, makeProgress } from '../../src/train/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

const record = { epoch: 2, loss: 0.5, accuracy: 0.75, val_loss: 0.625, val_accuracy: 0.5, lr: 0.001, seconds: 1.25 };

describe('progress output', () => {
  test('epoch line lists loss, accuracy, validation, rate and time', () => {
    assert.equal(epochLine(record, 5), 'epoch 2/5  loss 0.5000  acc 0.7500  val_loss 0.6250  val_acc 0.5000  lr 1.00e-3  1.3s');
    assert.equal(epochLine({ ...record, val_loss: null, val_accuracy: null }, 5), 'epoch 2/5  loss 0.5000  acc 0.7500  lr 1.00e-3  1.3s');
    assert.equal(epochLine({ ...record, val_loss: null, val_accuracy: null, test_loss: 0.25, test_accuracy: 0.875 }, 5),
      'epoch 2/5  loss 0.5000  acc 0.7500  test_loss 0.2500  test_acc 0.8750  lr 1.00e-3  1.3s');
  });

  test('not a terminal: a line every tenth of a long epoch and one per epoch, no control characters', () => {
    const out = fakeStream(false);
    const p = makeProgress(out);
    p.startEpoch(2, 5, 40);
    for (let step = 1; step <= 40; step++) p.step(step, 1 / step, 0.5);
    p.endEpoch(record, '  (best)');
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines.length, 10); // steps 4, 8, ..., 36, then the epoch line
    assert.equal(lines[0], '  epoch 2/5 step 4/40  loss 0.2500  acc 0.5000');
    assert.match(lines[9], /^epoch 2\/5 .* \(best\)$/);
    assert.doesNotMatch(out.text, /\x1b/);
  });

  test('a terminal gets a redrawn bar and keeps the epoch line', () => {
    const out = fakeStream(true);
    const p = makeProgress(out);
    p.startEpoch(1, 1, 3);
    for (let step = 1; step <= 3; step++) p.step(step, 0.5, 0.25);
    p.endEpoch(record, '');
    assert.match(out.text, /\x1b\[/); // cursor control of the live bar
    assert.match(out.text, /epoch 1\/1 .* \d\/3 \| ETA/);
    assert.match(out.text, /epoch 2\/1  loss 0\.5000/);
  });
});
