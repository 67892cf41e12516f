// The generic ResNet family: parameter counts against torchvision's published numbers and against
// counts recomputed here by formula, output shapes, layer counts, plain twins and options.
// Models only counted are built with a zeros initializer (fast; counts do not depend on values) and
// at 32x32 (counts do not depend on the spatial size either).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/errors.js';
import { buildFamilyModel, buildResNet, cifarArchitecture, countTrainableParams, familyNames } from '../../src/models/resnet.js';
import { buildModel, modelNames } from '../../src/models/registry.js';
import { SubsampleZeroPad } from '../../src/models/cifar.js';

await tf.setBackend('cpu');
const zeros = () => tf.initializers.zeros();

function withModel<T>(name: string, inputShape: [number, number, number], classes: number, fn: (m: tf.LayersModel) => T): T {
  const model = buildFamilyModel(name, { inputShape, classes, kernelInitializer: zeros });
  try {
    return fn(model);
  } finally {
    model.dispose();
  }
}

function classCounts(model: tf.LayersModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of model.layers) counts[l.getClassName()] = (counts[l.getClassName()] ?? 0) + 1;
  return counts;
}

/** CIFAR ResNet-(6n+2), option A, 3-channel input, by formula: 3x3 convs without bias, BN gamma+beta, dense with bias. */
function cifarTrainableParams(n: number, classes: number): number {
  const conv = (cin: number, cout: number) => 9 * cin * cout;
  const bn = (c: number) => 2 * c;
  let total = conv(3, 16) + bn(16);
  let cin = 16;
  for (const width of [16, 32, 64]) {
    for (let b = 0; b < n; b++) {
      total += conv(cin, width) + bn(width) + conv(width, width) + bn(width);
      cin = width;
    }
  }
  return total + 64 * classes + classes;
}

describe('ImageNet-style family', () => {
  // torchvision.models.resnetXX().parameters() at 1000 classes (BN running statistics are buffers there).
  const torchvision: [string, number][] = [
    ['resnet18', 11_689_512], ['resnet34', 21_797_672], ['resnet50-imagenet', 25_557_032],
    ['resnet101', 44_549_160], ['resnet152', 60_192_808],
  ];
  for (const [name, expected] of torchvision) {
    test(`${name}: ${expected} trainable parameters at 1000 classes (torchvision)`, () => {
      withModel(name, [32, 32, 3], 1000, (m) => assert.equal(countTrainableParams(m), expected));
    });
  }

  test('bias-free resnet50-imagenet at 6 classes vs the course resnet50 (conv biases)', () => {
    withModel('resnet50-imagenet', [64, 64, 3], 6, (m) => {
      assert.equal(countTrainableParams(m), 23_520_326);
      // Same 53 BNs as the course model, so the same 53,120 moving statistics.
      assert.equal(m.countParams() - countTrainableParams(m), 53_120);
      // The course model's 23,600,006 minus the biases of its 53 convolutions (= their filter counts).
      assert.equal(23_600_006 - m.countParams(), 26_560);
    });
  });

  test('resnet18 at 64x64x3, 6 classes: stage shapes, 20 convolutions (17 + 3 projections), 8 adds', () => {
    withModel('resnet18', [64, 64, 3], 6, (m) => {
      assert.deepEqual(m.getLayer('pool1_pool').outputShape, [null, 16, 16, 64]);
      assert.deepEqual(m.getLayer('conv2_block2_out').outputShape, [null, 16, 16, 64]);
      assert.deepEqual(m.getLayer('conv3_block2_out').outputShape, [null, 8, 8, 128]);
      assert.deepEqual(m.getLayer('conv4_block2_out').outputShape, [null, 4, 4, 256]);
      assert.deepEqual(m.getLayer('conv5_block2_out').outputShape, [null, 2, 2, 512]);
      assert.deepEqual(m.outputs[0].shape, [null, 6]);
      const c = classCounts(m);
      assert.equal(c.Conv2D, 20);
      assert.equal(c.BatchNormalization, 20);
      assert.equal(c.Add, 8);
      assert.equal(c.Dense, 1);
    });
  });

  test('resnet50-imagenet: 53 convolutions, 16 adds, 2048 features; odd input 75x61 still works', () => {
    withModel('resnet50-imagenet', [75, 61, 3], 10, (m) => {
      const c = classCounts(m);
      assert.equal(c.Conv2D, 53);
      assert.equal(c.Add, 16);
      assert.deepEqual(m.getLayer('avg_pool').outputShape, [null, 2048]);
      assert.deepEqual(m.getLayer('conv5_block3_out').outputShape, [null, 3, 2, 2048]);
    });
  });

  test('plain18 = resnet18 without its 3 projection shortcuts (1x1 conv + BN)', () => {
    const projections = 64 * 128 + 2 * 128 + 128 * 256 + 2 * 256 + 256 * 512 + 2 * 512;
    const plain = withModel('plain18', [32, 32, 3], 1000, countTrainableParams);
    assert.equal(plain, 11_689_512 - projections);
    withModel('plain18', [32, 32, 3], 1000, (m) => assert.equal(classCounts(m).Add, undefined));
  });
});

describe('CIFAR-style family (He et al. 2015, 6n+2 layers)', () => {
  // Paper: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M.
  const cases: [number, number, number][] = [[20, 269_722, 0.27e6], [32, 464_154, 0.46e6], [44, 658_586, 0.66e6], [56, 853_018, 0.85e6], [110, 1_727_962, 1.7e6]];
  for (const [depth, exact, paper] of cases) {
    test(`resnet${depth} (option A) = plain${depth} = ${exact} parameters (paper: ${paper / 1e6}M)`, () => {
      const n = (depth - 2) / 6;
      assert.equal(exact, cifarTrainableParams(n, 10));
      const paperDigits = depth === 110 ? 1 : 2; // the paper's rounding
      assert.equal(Number((exact / 1e6).toFixed(paperDigits)), paper / 1e6);
      const residual = withModel(`resnet${depth}`, [32, 32, 3], 10, countTrainableParams);
      const plain = withModel(`plain${depth}`, [32, 32, 3], 10, countTrainableParams);
      assert.equal(residual, exact);
      assert.equal(plain, exact);
    });
  }

  test('option A shortcut: every 2nd pixel of an odd 3x3 input, zero channels split before/after', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const layer = new SubsampleZeroPad({ stride: 2, channels: 3 });
    const y = layer.apply(x) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 2, 2, 3]);
    assert.deepEqual(Array.from(y.dataSync()), [0, 1, 0, 0, 3, 0, 0, 7, 0, 0, 9, 0]);
    // Its gradient reaches the kept pixels only, with weight 1.
    const g = tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t) as tf.Tensor))(x);
    assert.deepEqual(Array.from(g.dataSync()), [1, 0, 1, 0, 0, 0, 1, 0, 1]);
    tf.dispose([x, y, g]);
  });

  test('option B adds two 1x1 projections + BN: resnet20-b has 272,474 parameters', () => {
    const projections = 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64;
    assert.equal(269_722 + projections, 272_474);
    withModel('resnet20-b', [32, 32, 3], 10, (m) => assert.equal(countTrainableParams(m), 272_474));
  });

  test('resnet20 at 32x32x3: 19 convs + 1 dense = 20 weight layers, 9 adds, stage shapes 32/16/8', () => {
    withModel('resnet20', [32, 32, 3], 10, (m) => {
      const c = classCounts(m);
      assert.equal(c.Conv2D, 19);
      assert.equal(c.Dense, 1);
      assert.equal(c.Add, 9);
      assert.equal(c.SubsampleZeroPad, 2);
      assert.deepEqual(m.getLayer('conv2_block3_out').outputShape, [null, 32, 32, 16]);
      assert.deepEqual(m.getLayer('conv3_block3_out').outputShape, [null, 16, 16, 32]);
      assert.deepEqual(m.getLayer('conv4_block3_out').outputShape, [null, 8, 8, 64]);
      assert.deepEqual(m.outputs[0].shape, [null, 10]);
    });
  });

  test('plain56 has the layers of resnet56 minus the adds and option-A shortcuts', () => {
    const residual = withModel('resnet56', [28, 28, 1], 10, classCounts);
    const plain = withModel('plain56', [28, 28, 1], 10, classCounts);
    assert.equal(residual.Conv2D, 55);
    assert.equal(plain.Conv2D, 55);
    assert.equal(plain.BatchNormalization, residual.BatchNormalization);
    assert.equal(plain.Activation, residual.Activation);
    assert.equal(residual.Add, 27);
    assert.equal(plain.Add, undefined);
    assert.equal(plain.SubsampleZeroPad, undefined);
  });

  test('a plain net and its residual twin start from the same kernels (same seeds)', () => {
    const options = { inputShape: [16, 16, 3] as [number, number, number], classes: 4, kernelInitializer: 'glorot' as const, seed: 7 };
    const plain = buildFamilyModel('plain14', options);
    const residual = buildFamilyModel('resnet14', options);
    const kernels = (m: tf.LayersModel) => m.trainableWeights.filter((w) => w.name.includes('kernel'));
    const [kp, kr] = [kernels(plain), kernels(residual)];
    assert.equal(kp.length, 14);
    assert.equal(kr.length, 14);
    for (let i = 0; i < kp.length; i++) assert.deepEqual(kp[i].read().dataSync(), kr[i].read().dataSync());
    // Different layers get different seeds: two 16->16 kernels differ.
    assert.notDeepEqual(kp[1].read().dataSync(), kp[2].read().dataSync());
    plain.dispose();
    residual.dispose();
  });

  test('seeded initialisation is reproducible for both initializers, seed 0 included', () => {
    for (const kernelInitializer of ['he', 'glorot'] as const) {
      const build = () => buildFamilyModel('plain8', { inputShape: [8, 8, 1], classes: 2, kernelInitializer, seed: 0 });
      const [a, b] = [build(), build()];
      a.trainableWeights.forEach((w, i) => assert.deepEqual(w.read().dataSync(), b.trainableWeights[i].read().dataSync(), `${kernelInitializer} ${w.name}`));
      a.dispose();
      b.dispose();
    }
  });

  test('depths that are not 6n+2 and unknown names are user errors', () => {
    assert.throws(() => cifarArchitecture(21), UserError);
    assert.throws(() => buildFamilyModel('resnet21', { inputShape: [32, 32, 3], classes: 10 }), UserError);
    assert.throws(() => buildFamilyModel('resnet50', { inputShape: [32, 32, 3], classes: 10 }), /unknown model 'resnet50'/);
    assert.throws(() => buildFamilyModel('plain20-b', { inputShape: [32, 32, 3], classes: 10 }), UserError);
  });
});

describe('options', () => {
  test('pre-activation (v2): BN before each conv, nothing after the add, one final BN+ReLU; same parameters', () => {
    withModel('resnet20-v2', [32, 32, 3], 10, (m) => {
      const c = classCounts(m);
      assert.equal(c.Conv2D, 19);
      assert.equal(c.BatchNormalization, 19); // 18 in blocks + post_bn; the stem conv has none after it
      assert.ok(m.getLayer('post_bn'));
      assert.equal(m.getLayer('conv2_block1_add').outboundNodes[0].outboundLayer.name, 'conv2_block2_preact_bn');
      assert.equal(countTrainableParams(m), 269_722);
    });
  });

  test('batchNorm off: no BN layers, convolutions get biases', () => {
    const m = buildResNet(cifarArchitecture(8), { inputShape: [8, 8, 1], classes: 3, batchNorm: false, kernelInitializer: zeros });
    const c = classCounts(m);
    assert.equal(c.BatchNormalization, undefined);
    const convBiases = 16 + 2 * 16 + 2 * 32 + 2 * 64;
    const kernels = 9 * 1 * 16 + 2 * 9 * 16 * 16 + 9 * 16 * 32 + 9 * 32 * 32 + 9 * 32 * 64 + 9 * 64 * 64 + (64 * 3 + 3);
    assert.equal(m.countParams(), kernels + convBiases);
    m.dispose();
  });

  test('He normal vs Glorot uniform: kernel standard deviations sqrt(2/fan_in) vs sqrt(2/(fan_in+fan_out)), within 10%', () => {
    for (const [init, expected] of [['he', Math.sqrt(2 / (9 * 64))], ['glorot', Math.sqrt(2 / (9 * 64 + 9 * 64))]] as const) {
      const m = buildResNet(cifarArchitecture(8), { inputShape: [8, 8, 3], classes: 3, kernelInitializer: init });
      const kernel = m.getLayer('conv4_block1_2_conv').getWeights()[0]; // 3x3x64x64
      const std = tf.tidy(() => tf.sqrt(tf.moments(kernel).variance).dataSync()[0]);
      // He: a truncated normal rescaled back to sqrt(2/fan_in), as in Keras (TF.js's own heNormal is 12% short).
      assert.ok(Math.abs(std / expected - 1) < 0.1, `${init}: std ${std}, expected ${expected}`);
      m.dispose();
    }
  });

  test('trains eagerly: outputs are probabilities, one SGD step lowers the loss on a fixed batch, no tensor leaks', () => {
    const m = buildFamilyModel('resnet8', { inputShape: [8, 8, 1], classes: 3 });
    const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3);
    const before = tf.memory().numTensors;
    const lossOf = () => tf.mean(tf.metrics.categoricalCrossentropy(y, m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
    const sums = tf.tidy(() => tf.sum(m.predict(x) as tf.Tensor, 1).dataSync());
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
    const l0 = tf.tidy(() => lossOf().dataSync()[0]);
    const opt = tf.train.sgd(0.1);
    tf.tidy(() => { opt.minimize(lossOf); });
    opt.dispose();
    const l1 = tf.tidy(() => lossOf().dataSync()[0]);
    assert.ok(l1 < l0, `loss ${l0} -> ${l1}`);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
    m.dispose();
  });

  test('a CIFAR ResNet with option-A shortcuts saves and loads back (custom layer registered), same predictions', async () => {
    const m = buildFamilyModel('resnet8', { inputShape: [8, 8, 2], classes: 3, seed: 5 });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await m.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const x = tf.randomUniform([2, 8, 8, 2], 0, 1, 'float32', 3);
    const [p, q] = [m.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    assert.deepEqual(Array.from(q.dataSync()), Array.from(p.dataSync()));
    assert.equal(loaded.layers.filter((l) => l.getClassName() === 'SubsampleZeroPad').length, 2);
    tf.dispose([x, p, q]);
    m.dispose();
    loaded.dispose();
  });

  test('every family name builds through the registry', () => {
    const names = familyNames();
    assert.ok(names.includes('plain20') && names.includes('resnet56') && names.includes('resnet18-v2'));
    for (const name of ['resnet20', 'plain56', 'resnet18', 'resnet50-imagenet', 'plain34']) assert.ok(modelNames().includes(name));
    const m = buildModel('resnet32-v2', { inputShape: [12, 12, 2], classes: 5 });
    assert.deepEqual(m.outputs[0].shape, [null, 5]);
    m.dispose();
  });
});
