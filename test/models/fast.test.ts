// The fast CIFAR networks (src/models/fast.ts) and their whitening stem (src/models/whitening.ts):
// parameter counts by formula, shapes, the residual adds, and the whitened outputs' statistics
// measured through TF.js's own convolution on the reference cpu backend.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { memorySource, mulberry32 } from '../../src/data/index.js';
import type { ImageDataset } from '../../src/data/types.js';
import { buildModel } from '../../src/models/registry.js';
import { countTrainableParams } from '../../src/models/resnet.js';
import { WHITEN_LAYER } from '../../src/models/fast.js';
import { initWhitening, WHITEN_EPSILON, whiteningWeights } from '../../src/models/whitening.js';
import { setTrainability } from '../../src/train/freeze.js';

const conv = (cin: number, cout: number) => 9 * cin * cout;

/** Smooth, correlated colour images (random values averaged over 3x3 neighbourhoods, channels mixed). */
function smoothImages(n: number, size: number, seed: number): ImageDataset {
  const random = mulberry32(seed);
  const noise = Float32Array.from({ length: n * size * size * 3 }, random);
  const images = new Float32Array(noise.length);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          let m = 0;
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const [yy, xx] = [y + dy, x + dx];
              if (yy < 0 || xx < 0 || yy >= size || xx >= size) continue;
              const at = ((i * size + yy) * size + xx) * 3;
              s += 0.6 * noise[at + c] + 0.4 * noise[at + ((c + 1) % 3)];
              m++;
            }
          }
          images[((i * size + y) * size + x) * 3 + c] = s / m;
        }
      }
    }
  }
  // 8-bit levels, as every reader stores them (the model sees levels / 255).
  return { images: Uint8Array.from(images, (v) => Math.round(v * 255)), labels: new Int32Array(n), shape: [n, size, size, 3], classNames: ['a', 'b'], source: 'memory' };
}

describe('fast CIFAR networks', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  test('resnet-airbench: 1,971,328 trainable parameters at 10 classes (formula), residual adds, 3x3 before the head', () => {
    const m = buildModel('resnet-airbench', { inputShape: [32, 32, 3], classes: 10 });
    // Three groups: conv, BN shift, residual conv, BN shift; whitening frozen; dense without bias.
    const expected = [[24, 64], [64, 256], [256, 256]].reduce((t, [cin, w]) => t + conv(cin, w) + w + conv(w, w) + w, 0) + 256 * 10;
    assert.equal(expected, 1_971_328);
    assert.equal(countTrainableParams(m), expected);
    assert.equal(m.layers.filter((l) => l.getClassName() === 'Add').length, 3);
    assert.deepEqual(m.getLayer('stage3_add').outputShape, [null, 3, 3, 256]);
    assert.equal(m.getLayer(WHITEN_LAYER).trainable, false);
    assert.deepEqual(m.outputs[0].shape, [null, 10]);
    m.dispose();
  });

  test('resnet-airbench starts each group conv as an identity on its first input-width filters (dirac); resnet9 does not', () => {
    const m = buildModel('resnet-airbench', { inputShape: [16, 16, 3], classes: 10 });
    // Whitening (24) -> 64 -> 256 -> 256: filters 0..23, 0..63 and all 256 of the three group convs.
    for (const [stage, inputs, outputs] of [[1, 24, 64], [2, 64, 256], [3, 256, 256]]) {
      const kernel = m.getLayer(`stage${stage}_conv`).getWeights()[0];
      assert.deepEqual(kernel.shape, [3, 3, inputs, outputs]);
      const k = kernel.arraySync() as number[][][][];
      let off = 0;
      for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) for (let i = 0; i < inputs; i++) for (let o = 0; o < Math.min(inputs, outputs); o++) {
        const want = y === 1 && x === 1 && i === o ? 1 : 0;
        if (k[y][x][i][o] !== want) off++;
      }
      assert.equal(off, 0, `stage${stage}: identity filters`);
      if (outputs > inputs) {
        // The rest keep PyTorch's default: uniform in +-1/sqrt(fan_in), not all zero.
        const rest = k.flat(3).filter((_, j) => j % outputs >= inputs);
        const bound = 1 / Math.sqrt(9 * inputs);
        assert.ok(rest.every((v) => Math.abs(v) <= bound + 1e-7) && rest.some((v) => v !== 0), `stage${stage}: the other filters`);
      }
    }
    // The residual units' convolutions keep their random start (their identity is the explicit add).
    const unit = m.getLayer('stage3_res1_conv').getWeights()[0].arraySync() as number[][][][];
    assert.notEqual(unit[1][1][0][0], 1);
    m.dispose();
    const page = buildModel('resnet9', { inputShape: [16, 16, 3], classes: 10 });
    assert.notEqual((page.getLayer('stage1_conv').getWeights()[0].arraySync() as number[][][][])[1][1][0][0], 1);
    page.dispose();
  });

  test('training phases (setTrainability) keep the whitening stem and the batch-norm scales frozen', () => {
    const m = buildModel('resnet-airbench', { inputShape: [16, 16, 3], classes: 10 });
    const built = countTrainableParams(m);
    const trainable = () => new Set(m.trainableWeights.map((w) => w.name));
    setTrainability(m, 'all');
    assert.equal(countTrainableParams(m), built, "'all' trains what the built model trains, no more");
    assert.equal(m.getLayer(WHITEN_LAYER).trainableWeights.length, 0);
    assert.ok([...trainable()].every((name) => !/gamma/.test(name)), 'no batch-norm scale trains');
    setTrainability(m, 'all-but-batch-norm');
    assert.ok([...trainable()].every((name) => !/_bn\//.test(name)), 'batch-norm shifts frozen too');
    setTrainability(m, 'all');
    assert.equal(countTrainableParams(m), built);
    m.dispose();
  });

  test('resnet-airbench survives a JSON round trip: shift-only batch norms keep their scale out of training', async () => {
    const m = buildModel('resnet-airbench', { inputShape: [16, 16, 3], classes: 4 });
    const back = await tf.models.modelFromJSON(m.toJSON(null, false) as unknown as tf.io.ModelJSON);
    assert.equal(back.layers.filter((l) => l.getClassName() === 'ShiftBatchNormalization').length, 6);
    assert.equal(countTrainableParams(back), countTrainableParams(m));
    assert.ok(back.trainableWeights.every((w) => !/gamma$/.test(w.originalName)));
    m.dispose();
    back.dispose();
  });

  test('resnet9: 6,573,120 trainable parameters at 10 classes (formula: Page\'s ResNet-9), two residual blocks', () => {
    const m = buildModel('resnet9', { inputShape: [32, 32, 3], classes: 10 });
    const bn = (c: number) => 2 * c;
    const expected = conv(3, 64) + bn(64) + conv(64, 128) + bn(128) + 2 * (conv(128, 128) + bn(128)) + conv(128, 256) + bn(256) +
      conv(256, 512) + bn(512) + 2 * (conv(512, 512) + bn(512)) + 512 * 10;
    assert.equal(countTrainableParams(m), expected);
    assert.equal(m.layers.filter((l) => l.getClassName() === 'Add').length, 2);
    assert.deepEqual(m.getLayer('head_pool').outputShape, [null, 1, 1, 512]);
    m.dispose();
  });

  test('both give probabilities on a batch, in training and inference mode', () => {
    for (const name of ['resnet-airbench', 'resnet9']) {
      const m = buildModel(name, { inputShape: [32, 32, 3], classes: 10 });
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1);
      for (const training of [true, false]) {
        const p = m.apply(x, { training }) as tf.Tensor;
        assert.deepEqual(p.shape, [2, 10]);
        const sums = tf.tidy(() => tf.sum(p, 1).dataSync());
        sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5, `${name}: row sums to ${s}`));
        p.dispose();
      }
      x.dispose();
      m.dispose();
    }
  });
});

describe('whitening initialisation', () => {
  test('the first 12 channels of the whitening conv (before ReLU) are centred and decorrelated, variance lambda/(lambda+eps); the others are their negatives', async () => {
    const ds = smoothImages(60, 12, 4);
    const m = buildModel('resnet-airbench', { inputShape: [12, 12, 3], classes: 2 });
    assert.equal(await initWhitening(m, memorySource(ds)), true);
    const { eigenvalues } = whiteningWeights(ds, 2);
    const probe = tf.model({ inputs: m.inputs, outputs: m.getLayer(WHITEN_LAYER).output as tf.SymbolicTensor });
    const out = tf.tidy(() => probe.predict(tf.div(tf.tensor4d(ds.images, ds.shape, 'float32'), 255)) as tf.Tensor4D);
    const values = out.dataSync();
    const filters = out.shape[3];
    assert.equal(filters, 24);
    const rows = values.length / filters;
    const mean = new Float64Array(filters);
    for (let i = 0; i < values.length; i++) mean[i % filters] += values[i] / rows;
    for (let f = 0; f < filters; f++) assert.ok(Math.abs(mean[f]) < 1e-3, `channel ${f} mean ${mean[f]}`);
    for (let a = 0; a < 12; a++) {
      for (let b = 0; b <= a; b++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += values[r * filters + a] * values[r * filters + b];
        const expected = a === b ? eigenvalues[a] / (eigenvalues[a] + WHITEN_EPSILON) : 0;
        assert.ok(Math.abs(s / rows - expected) < 2e-3, `covariance (${a}, ${b}) = ${s / rows}, expected ${expected}`);
      }
    }
    for (let r = 0; r < rows; r += 7) {
      for (let f = 0; f < 12; f++) assert.ok(Math.abs(values[r * filters + f] + values[r * filters + f + 12]) < 1e-4);
    }
    assert.ok(eigenvalues.every((v, i) => i === 0 || v <= eigenvalues[i - 1]), 'largest first');
    out.dispose();
    m.dispose();
  });

  test('a model without a whitening layer is left alone', async () => {
    const m = buildModel('resnet9', { inputShape: [8, 8, 3], classes: 2 });
    const before = m.getWeights().map((w) => w.dataSync().slice());
    assert.equal(await initWhitening(m, memorySource(smoothImages(4, 8, 1))), false);
    m.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), before[i]));
    m.dispose();
  });
});
