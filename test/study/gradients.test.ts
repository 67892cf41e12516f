// The gradient-flow study on tiny settings (depth 8, 4x4 images, a few steps) on TF.js's reference
// cpu engine: structure of the traces and of the --json line, gradient norms against finite
// differences, the vanishing-gradient property of a plain net, and no tensor leaks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import type { ImageDataset } from '../../src/data/types.js';
import { buildResNet, cifarArchitecture } from '../../src/models/resnet.js';
import { kernelsInOrder, runGradientStudy, runPair, studyJson, type GradientStudyOptions, type StudyConfig } from '../../src/study/gradients.js';
import { UserError } from '../../src/errors.js';

await tf.setBackend('cpu');

/** n random 4x4 greyscale images (levels 0..255) with labels 0..classes-1 in turn (4x4: stages at 4, 2 and 1 pixels). */
function tinyDataset(n: number, classes = 3, seed = 1): ImageDataset {
  let s = seed;
  const random = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const images = Uint8Array.from({ length: n * 16 }, () => Math.floor(random() * 256));
  return {
    images,
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    shape: [n, 4, 4, 1],
    classNames: Array.from({ length: classes }, (_, i) => String(i)),
    source: 'test',
  };
}

const base: GradientStudyOptions = { depths: [8], configs: [], steps: 2, batchSize: 4, recordEvery: 1, learningRate: 0.05, momentum: 0.9, seed: 3 };
const noBnHe: StudyConfig = { batchNorm: false, init: 'he' };

describe('gradient study', () => {
  test('traces: 8 weight layers input -> output, a loss per step, positive finite norms at the recorded steps; no leaks', () => {
    const ds = tinyDataset(8);
    const before = tf.memory().numTensors;
    const run = runPair(ds, 8, { batchNorm: true, init: 'glorot' }, { ...base, steps: 3, recordEvery: 2 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(run.key, 'depth8-bn-glorot');
    assert.deepEqual(run.layers, [
      'conv1_conv', 'conv2_block1_1_conv', 'conv2_block1_2_conv', 'conv3_block1_1_conv', 'conv3_block1_2_conv',
      'conv4_block1_1_conv', 'conv4_block1_2_conv', 'predictions',
    ]);
    for (const trace of [run.plain, run.residual]) {
      assert.equal(trace.divergedAtStep, null);
      assert.equal(trace.loss.length, 3);
      assert.ok(trace.loss.every((l) => Number.isFinite(l) && l > 0));
      assert.deepEqual(trace.layerGradNorms.map((r) => r.step), [0, 2]); // every 2nd step, and the last
      for (const r of trace.layerGradNorms) {
        assert.equal(r.norms.length, 8);
        assert.ok(r.norms.every((g) => Number.isFinite(g) && g > 0), `norms ${r.norms}`);
        assert.equal(r.weightNorms.length, 8);
        assert.ok(r.weightNorms.every((w) => Number.isFinite(w) && w > 0), `weight norms ${r.weightNorms}`);
      }
    }
    // Same kernels, same first batch: the first losses differ only through the shortcuts.
    assert.notEqual(run.plain.loss[0], run.residual.loss[0]);
  });

  test('step-0 norm of the dense kernel agrees with central finite differences of the loss (within 1%)', () => {
    // One batch = the whole data set, so the first batch is known whatever its order.
    const ds = tinyDataset(4);
    const run = runPair(ds, 8, noBnHe, { ...base, steps: 1 });
    const model = buildResNet(cifarArchitecture(8), {
      inputShape: [4, 4, 1], classes: 3, shortcut: 'A', batchNorm: false, kernelInitializer: 'he', seed: base.seed, headActivation: 'linear',
    });
    const xs = tf.tensor4d(Float32Array.from(ds.images, (v) => v / 255), ds.shape);
    const ys = tf.oneHot(tf.tensor1d(ds.labels, 'int32'), 3);
    const kernel = kernelsInOrder(model).variables.at(-1)!;
    const w0 = (kernel.dataSync() as Float32Array).slice();
    const lossAt = (w: Float32Array) => {
      kernel.assign(tf.tensor(w, kernel.shape));
      return tf.tidy(() => tf.losses.softmaxCrossEntropy(ys, model.predict(xs) as tf.Tensor).dataSync()[0]);
    };
    const eps = 1e-2; // the loss is nearly quadratic in the last layer's kernel: central differences are exact to O(eps^2)
    let sumSquares = 0;
    for (let i = 0; i < w0.length; i++) {
      const up = w0.slice();
      const down = w0.slice();
      up[i] += eps;
      down[i] -= eps;
      sumSquares += ((lossAt(up) - lossAt(down)) / (2 * eps)) ** 2;
    }
    assert.ok(Math.abs(run.residual.layerGradNorms[0].weightNorms.at(-1)! / Math.hypot(...w0) - 1) < 1e-5);
    const recorded = run.residual.layerGradNorms[0].norms.at(-1)!;
    assert.ok(Math.abs(Math.sqrt(sumSquares) / recorded - 1) < 0.01, `finite differences ${Math.sqrt(sumSquares)} vs recorded ${recorded}`);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  test('a deep plain net without BN and with a small init: the first layer gets far less gradient than in its residual twin', () => {
    // Kernels with variance 0.1 / fan_in: each conv + ReLU scales the signal by about sqrt(0.05).
    const small: StudyConfig = { batchNorm: false, init: { label: 'small', create: (seed) => tf.initializers.varianceScaling({ scale: 0.1, mode: 'fanIn', distribution: 'uniform', seed }) } };
    const run = runPair(tinyDataset(8), 8, small, { ...base, steps: 2 });
    for (const step of [0, 1]) {
      const plain = run.plain.layerGradNorms[step].norms;
      const residual = run.residual.layerGradNorms[step].norms;
      assert.ok(plain[0] < residual[0] / 100, `step ${step}: first layer plain ${plain[0]} vs residual ${residual[0]}`);
    }
  });

  test('--json shape: the first run at the top level, the others under their keys; round-trips through JSON', () => {
    const runs = runGradientStudy(tinyDataset(8), { ...base, depths: [8, 14], steps: 1, configs: [noBnHe, { batchNorm: true, init: 'glorot' }] });
    assert.deepEqual(runs.map((r) => r.key), ['depth8-nobn-he', 'depth14-nobn-he', 'depth8-bn-glorot', 'depth14-bn-glorot']);
    const json = JSON.parse(JSON.stringify(studyJson(runs, 1)));
    assert.equal(json.depth, 8);
    assert.equal(json.steps, 1);
    assert.equal(json.key, 'depth8-nobn-he');
    assert.equal(json.plain.loss.length, 1);
    assert.equal(json.residual.layerGradNorms[0].norms.length, 8);
    assert.equal(json['depth14-nobn-he'].depth, 14);
    assert.equal(json['depth14-nobn-he'].plain.layerGradNorms[0].norms.length, 14);
    assert.equal(json['depth14-bn-glorot'].batchNorm, true);
    assert.equal(json['depth8-nobn-he'], undefined); // the first run is not repeated
  });

  test('bad settings are user errors', () => {
    const ds = tinyDataset(4);
    assert.throws(() => runGradientStudy(ds, { ...base, configs: [noBnHe], depths: [9] }), UserError);
    assert.throws(() => runGradientStudy(ds, { ...base, configs: [noBnHe], steps: 0 }), UserError);
    assert.throws(() => runGradientStudy(ds, { ...base, configs: [noBnHe], batchSize: 8 }), /fewer than one batch/);
    assert.throws(() => runGradientStudy(ds, { ...base, configs: [] }), UserError);
  });
});
