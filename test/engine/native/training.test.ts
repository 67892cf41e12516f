// A training step of a small conv + batch-norm + pool network on the native engine agrees with the
// cpu backend (loss and every gradient), the fused Adam and momentum updates agree with TensorFlow.js's, a
// few fit steps lower the loss, and repeated steps leave no tensors behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { assertClose, randomValues, runOn, skip, type Tolerance } from './helpers.js';

/**
 * The loss and gradients through two batch norms and a softmax, summed in another order: 1e-4 of
 * each (gradients are 0.01-0.4 here); the conv biases before a batch norm have gradients that are
 * zero up to rounding (~4e-8), hence the 5e-7 floor.
 */
const GRADIENT_TOLERANCE: Tolerance = { abs: 5e-7, rel: 1e-4 };
/**
 * Weights (of order 1) after 5 Adam steps on those gradients: Adam divides by sqrt(v), so a
 * gradient's rounding difference moves a step by up to ~1e-7; 1e-6 of each weight.
 */
const ADAM_TOLERANCE: Tolerance = { abs: 1e-6, rel: 1e-6 };
/**
 * Weights after 5 momentum steps: the same float32 products and sums in the same order as tfjs's
 * kernels, so equal up to the gradients' own rounding (native vs cpu), ~1e-7 of a weight of order 1.
 */
const MOMENTUM_TOLERANCE: Tolerance = { abs: 1e-6, rel: 1e-6 };
const BATCH = 4, SIZE = 9, CLASSES = 3;

/** conv 3x3 -> BN -> ReLU -> max pool 3x3/2 -> conv 1x1 stride 2 (+ shortcut conv) -> BN -> add -> avg pool -> dense. */
function smallResidualNet(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  let x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ axis: 3 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as tf.SymbolicTensor;
  let y = tf.layers.conv2d({ filters: 8, kernelSize: 1, strides: 2, kernelInitializer: init(2) }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ axis: 3 }).apply(y) as tf.SymbolicTensor;
  const shortcut = tf.layers.conv2d({ filters: 8, kernelSize: 1, strides: 2, kernelInitializer: init(3) }).apply(x) as tf.SymbolicTensor;
  let z = tf.layers.add().apply([y, shortcut]) as tf.SymbolicTensor;
  z = tf.layers.activation({ activation: 'relu' }).apply(z) as tf.SymbolicTensor;
  z = tf.layers.averagePooling2d({ poolSize: 2 }).apply(z) as tf.SymbolicTensor;
  z = tf.layers.flatten().apply(z) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: init(4) }).apply(z) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const images = () => tf.tensor4d(randomValues(BATCH * SIZE * SIZE * 3, 11), [BATCH, SIZE, SIZE, 3]);
const labels = () => tf.cast(tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), CLASSES), 'float32');

test('loss and all gradients of a conv+BN+pool training step match cpu', { skip }, async () => {
  const step = () => {
    const model = smallResidualNet();
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels(),
      tf.log(model.apply(images(), { training: true }) as tf.Tensor)) as tf.Scalar, vars);
    const out = [value, ...vars.map((v) => grads[v.name])];
    model.dispose();
    return out;
  };
  const expected = await runOn('cpu', step);
  const actual = await runOn('native', step);
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assertClose(actual[i], e, GRADIENT_TOLERANCE, i === 0 ? 'loss' : `gradient ${i}`));
});

test('the fused Adam update matches TensorFlow.js Adam over several steps', { skip }, async () => {
  const run = () => {
    const target = tf.tensor1d(randomValues(1000, 3));
    const w = tf.variable(tf.tensor1d(randomValues(1000, 4)));
    const adam = tf.train.adam(0.01);
    for (let i = 0; i < 5; i++) adam.minimize(() => tf.sum(tf.square(tf.sub(w, target))) as tf.Scalar);
    const out = tf.clone(w);
    adam.dispose();
    w.dispose();
    return out;
  };
  const expected = await runOn('cpu', run);
  const actual = await runOn('native', run);
  assertClose(actual[0], expected[0], ADAM_TOLERANCE, 'weights after 5 Adam steps');
});

for (const nesterov of [false, true]) {
  test(`the fused momentum update (${nesterov ? 'Nesterov' : 'plain'}) matches TensorFlow.js's over several steps`, { skip }, async () => {
    const { loadAddon } = await import('../../../src/engine/native/addon.js');
    const addon = loadAddon()!;
    const original = addon.momentum;
    let fusedCalls = 0;
    addon.momentum = (...args) => { fusedCalls++; original(...args); };
    const run = () => {
      const target = tf.tensor1d(randomValues(1000, 3));
      // (tidy: the initial tensors go, so that the variables own their storage from the first step on)
      const [w, b] = tf.tidy(() => [tf.variable(tf.tensor1d(randomValues(1000, 4))), tf.variable(tf.tensor1d(randomValues(7, 5)))]);
      const sgd = tf.train.momentum(0.05, 0.9, nesterov);
      for (let i = 0; i < 5; i++) {
        sgd.setLearningRate(0.05 / (i + 1)); // a schedule: the rate is read at every step
        sgd.minimize(() => tf.add(tf.sum(tf.square(tf.sub(w, target))), tf.sum(tf.square(b))) as tf.Scalar);
      }
      const out = [tf.clone(w), tf.clone(b)];
      sgd.dispose();
      tf.dispose([w, b, target]);
      return out;
    };
    try {
      const expected = await runOn('cpu', run);
      assert.equal(fusedCalls, 0, 'the fused update ran on cpu');
      const actual = await runOn('native', run);
      assert.equal(fusedCalls, 10, 'the fused update did not run on native (two variables, five steps)');
      assertClose(actual[0], expected[0], MOMENTUM_TOLERANCE, 'weights after 5 momentum steps');
      assertClose(actual[1], expected[1], MOMENTUM_TOLERANCE, 'second variable after 5 momentum steps');
    } finally {
      addon.momentum = original;
    }
  });
}

test('the fused updates make the optimizer state tfjs makes, for a variable without a gradient too', { skip }, async () => {
  // applyGradients with one variable's gradient missing: tfjs still makes that variable's state (so
  // that getWeights/setWeights line up by position); the fused updates must make the same.
  const run = async (optimizer: tf.Optimizer) => {
    const [w, b] = tf.tidy(() => [tf.variable(tf.tensor1d(randomValues(100, 6))), tf.variable(tf.tensor1d(randomValues(3, 7)))]);
    const gradient = tf.tensor1d(randomValues(100, 8));
    for (let i = 0; i < 2; i++) optimizer.applyGradients({ [w.name]: gradient, [b.name]: null } as unknown as tf.NamedTensorMap);
    const state = await optimizer.getWeights();
    const out = { names: state.map((s) => s.name.replace(/^.*?(\/[a-z]+)$/, '$1')), values: state.map((s) => Float32Array.from(s.tensor.dataSync())), w: Float32Array.from(w.dataSync()) };
    optimizer.dispose();
    tf.dispose([w, b, gradient]);
    return out;
  };
  const cases: Array<[() => tf.Optimizer, Tolerance]> = [[() => tf.train.adam(0.01), ADAM_TOLERANCE], [() => tf.train.momentum(0.05, 0.9), MOMENTUM_TOLERANCE]];
  for (const [make, tolerance] of cases) {
    await tf.setBackend('cpu');
    const expected = await run(make());
    await tf.setBackend('native');
    const actual = await run(make());
    assert.deepEqual(actual.names, expected.names, 'state variables');
    expected.values.forEach((e, i) => assertClose(actual.values[i], e, tolerance, `state ${expected.names[i]}`));
    assertClose(actual.w, expected.w, tolerance, 'updated weights');
  }
});

test('fit steps on the native engine lower the loss and leave no tensors behind', { skip }, async () => {
  await tf.setBackend('native');
  const model = smallResidualNet();
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const x = images(), y = labels();
  const first = (await model.trainOnBatch(x, y)) as number;
  const tensors = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 15; i++) last = (await model.trainOnBatch(x, y)) as number;
  assert.equal(tf.memory().numTensors, tensors, 'tensor count grew across training steps');
  assert.ok(last < first * 0.8, `loss did not drop: ${first} -> ${last}`);
  tf.dispose([x, y]);
  model.dispose();
});
