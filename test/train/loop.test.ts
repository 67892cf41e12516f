import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { memorySource, mulberry32 } from '../../src/data/index.js';
import type { ImageDataset } from '../../src/data/types.js';
import { freshState, isBetter, runEpochs, seedFor } from '../../src/train/loop.js';
import { makeOptimizer } from '../../src/train/optimizer.js';
import { defaultOptions, DEFAULT_AUGMENT, type TrainOptions } from '../../src/train/options.js';
import type { Progress } from '../../src/train/progress.js';
import { tinyResnet } from '../../src/models/tiny.js';

function randomDataset(n: number, size: number, classes: number, seed: number): ImageDataset {
  const random = mulberry32(seed);
  return {
    images: Uint8Array.from({ length: n * size * size * 3 }, () => Math.floor(random() * 256)),
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    shape: [n, size, size, 3],
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
    source: 'memory',
  };
}

const silent: Progress = { startEpoch() {}, step() {}, endEpoch() {}, log() {} };

function options(over: Partial<TrainOptions>): TrainOptions {
  return { ...defaultOptions('memory', 'course'), model: 'tiny-resnet', batchSize: 4, backend: 'cpu', ...over };
}

describe('training loop', () => {
  test('early stopping: a model that cannot change (lr 1e-30) stops after 1 + patience epochs', async () => {
    await tf.setBackend('cpu');
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 3] }), tf.layers.dense({ units: 2, activation: 'softmax' })] });
    const ds = randomDataset(8, 4, 2, 1);
    const o = options({ epochs: 10, lr: 1e-30, earlyStopping: 2 });
    const state = freshState();
    const saved: number[] = [];
    const ended = await runEpochs({
      model, optimizer: makeOptimizer('adam', o.lr, 0, 0.9), train: memorySource(ds), val: memorySource(randomDataset(4, 4, 2, 2)), options: o, state, progress: silent,
      onEpochEnd: async (s, improved) => void (improved && saved.push(s.epoch)),
    });
    assert.equal(ended, 'early-stopped');
    assert.equal(state.epoch, 3);
    assert.deepEqual(saved, [1]); // only the first epoch was an improvement: equal is not better
    assert.equal(state.bestEpoch, 1);
    model.dispose();
  });

  test('tensor count stays flat across epochs (augmentation, label smoothing, AdamW, validation)', async () => {
    await tf.setBackend('cpu');
    const model = tinyResnet({ inputShape: [6, 6, 3], classes: 3 });
    const o = options({ epochs: 3, optimizer: 'adamw', weightDecay: 0.01, labelSmoothing: 0.1, augment: DEFAULT_AUGMENT, schedule: 'cosine', warmupEpochs: 1 });
    const counts: number[] = [];
    const optimizer = makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum);
    await runEpochs({
      model, optimizer, train: memorySource(randomDataset(10, 6, 3, 3)), val: memorySource(randomDataset(5, 6, 3, 4)), options: o, state: freshState(),
      progress: { ...silent, endEpoch: () => counts.push(tf.memory().numTensors) },
      onEpochEnd: async () => {},
    });
    assert.equal(counts.length, 3);
    assert.equal(counts[1], counts[0]);
    assert.equal(counts[2], counts[0]);
    optimizer.dispose();
    model.dispose();
  });

  test('tensor count stays flat with nesterov, lookahead, padded crops, a watched test set and flip TTA', async () => {
    await tf.setBackend('cpu');
    const model = tinyResnet({ inputShape: [6, 6, 3], classes: 3 });
    const o = options({ epochs: 3, optimizer: 'nesterov', lr: 0.05, augment: { ...DEFAULT_AUGMENT, shift: 0, rotation: 0, brightness: 0, contrast: 0, crop: 2, flip: true },
      schedule: 'linear', warmupEpochs: 1, lookahead: { every: 2, decay: 0.9, power: 1, start: 1 }, tta: 'flip' });
    const counts: number[] = [];
    const optimizer = makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum);
    const state = freshState();
    await runEpochs({
      model, optimizer, train: memorySource(randomDataset(10, 6, 3, 3)), val: null, test: memorySource(randomDataset(6, 6, 3, 5)), options: o, state,
      progress: { ...silent, endEpoch: () => counts.push(tf.memory().numTensors) },
      onEpochEnd: async () => {},
    });
    assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);
    assert.ok(state.history.every((h) => typeof h.test_accuracy === 'number' && h.val_accuracy === null));
    optimizer.dispose();
    model.dispose();
  });

  test('monitoring prefers higher accuracy, then lower loss', () => {
    assert.ok(isBetter({ accuracy: 0.9, loss: 0.5 }, null));
    assert.ok(isBetter({ accuracy: 0.9, loss: 0.5 }, { accuracy: 0.8, loss: 0.1 }));
    assert.ok(isBetter({ accuracy: 0.9, loss: 0.4 }, { accuracy: 0.9, loss: 0.5 }));
    assert.ok(!isBetter({ accuracy: 0.9, loss: 0.5 }, { accuracy: 0.9, loss: 0.5 }));
  });

  test('seedFor gives distinct seeds for neighbouring (seed, epoch, step)', () => {
    const seeds = new Set<number>();
    for (let e = 0; e < 20; e++) for (let s = 0; s < 50; s++) seeds.add(seedFor(0, e, s, 1));
    assert.equal(seeds.size, 1000);
    assert.notEqual(seedFor(0, 1), seedFor(1, 0));
  });
});
