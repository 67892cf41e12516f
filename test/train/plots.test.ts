// The SVG figures: rendered headless by vega; checked through the marks' accessible labels.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { curvesSvg, type EpochRecord } from '../../src/plot/curves.js';
import { confusionSvg } from '../../src/plot/confusion.js';

const record = (epoch: number, val: boolean): EpochRecord => ({
  epoch, loss: 1 / epoch, accuracy: 0.5 + epoch / 10, val_loss: val ? 1.2 / epoch : null, val_accuracy: val ? 0.4 + epoch / 10 : null, lr: 1e-3, seconds: 1,
});

describe('plots', () => {
  test('learning curves: loss and accuracy panels, train and validation lines', async () => {
    const svg = await curvesSvg([record(1, true), record(2, true), record(3, true)]);
    assert.match(svg, /^<svg/);
    assert.match(svg, />loss</);
    assert.match(svg, />accuracy</);
    assert.match(svg, />validation</);
    // One point per (epoch, metric, split): 3 x 2 x 2.
    assert.equal(svg.match(/aria-roledescription="point"/g)?.length, 12);
    assert.match(svg, /aria-label="epoch: 2; value: 0\.6; split: validation"/); // val_accuracy 0.4 + 2/10
  });

  test('without a validation split only the training lines are drawn', async () => {
    const svg = await curvesSvg([record(1, false), record(2, false)]);
    assert.doesNotMatch(svg, />validation</);
    assert.equal(svg.match(/aria-roledescription="point"/g)?.length, 4);
  });

  test('confusion matrix: one cell per (true, predicted) pair with its count', async () => {
    const svg = await confusionSvg([[3, 1], [0, 4]], ['cat', 'dog']);
    assert.match(svg, /^<svg/);
    for (const [t, p, n] of [['cat', 'cat', 3], ['cat', 'dog', 1], ['dog', 'cat', 0], ['dog', 'dog', 4]]) {
      assert.match(svg, new RegExp(`aria-label="predicted class: ${p}; true class: ${t}; count: ${n}"[^>]*>${n}</text>`));
    }
  });
});
