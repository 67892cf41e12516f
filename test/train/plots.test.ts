// The SVG figures: rendered headless by vega; checked through the marks' accessible labels.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { curvesSvg, type EpochRecord } from '../../src/plot/curves.js';
import { confusionSvg } from '../../src/plot/confusion.js';
import { degradationSvg, heldOutSplit } from '../../src/plot/degradation.js';

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

  test('degradation figure: plain and ResNet panels, one colour per depth, training dashed and held-out solid', async () => {
    const run = (name: string, residual: boolean, depth: number, test: boolean) => ({
      name, residual, depth,
      history: [1, 2].map((epoch) => ({ ...record(epoch, true), accuracy: depth / 100 + epoch / 10, test_accuracy: test ? 0.3 + epoch / 10 : undefined })),
    });
    const runs = [run('plain-20', false, 20, true), run('plain-56', false, 56, true), run('ResNet-20', true, 20, true), run('ResNet-56', true, 56, true)];
    const svg = await degradationSvg(runs);
    assert.match(svg, /^<svg/);
    assert.match(svg, />plain</);
    assert.match(svg, />ResNet</);
    // Per network: 2 epochs x (training, test) points.
    assert.equal(svg.match(/aria-roledescription="point"/g)?.length, 16);
    // plain-56's training error at epoch 2: 1 - (0.56 + 0.2) = 24%; its test error 1 - 0.5 = 50%.
    assert.match(svg, /aria-label="epoch: 2; error \(1 - accuracy\): 24%; depth: 56 layers; curve: training; network: plain-56"/);
    assert.match(svg, /aria-label="epoch: 2; error \(1 - accuracy\): 50%; depth: 56 layers; curve: test; network: plain-56"/);
    // Without a test accuracy every epoch, the held-out curve is the validation split's.
    assert.equal(heldOutSplit(run('x', true, 20, false).history), 'validation');
    assert.match(await degradationSvg([run('ResNet-20', true, 20, false)]), /curve: validation/);
  });
});
