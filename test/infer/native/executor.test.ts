// The native inference executor against the unfused model (the same model's own predict on the
// native engine): every member of the family at small input sizes, with random batch-norm
// statistics so that folding matters; weight refresh after the model changes; layers the graph does
// not know; batch sizes; flat memory; argument checks of the addon's plan functions.
//
// Tolerance (float32): |fused - unfused| <= 5e-5 x max(1, max |unfused|) per output. Folding rounds
// w * k once instead of the batch norm's separate float32 operations, and oneDNN sums in another
// order; the largest difference seen over the family was 1.1e-5 of the output's scale (plain152).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/tf.js';
import { skip } from '../../engine/native/helpers.js';
import { familyNames, buildFamilyModel } from '../../../src/models/resnet.js';
import { buildModel } from '../../../src/models/registry.js';
import { compileForInference, type CompiledModel } from '../../../src/infer/compile.js';
import { registerNativeInference, type NativeCompiled } from '../../../src/infer/native/executor.js';
import { loadAddon, type InferenceAddon } from '../../../src/engine/native/addon.js';
import { images, randomizeBatchNorms, randomizeWeights, relativeDifference, zeros } from '../helpers.js';

const TOLERANCE = 5e-5;

/** Smallest inputs each kind of network takes: ImageNet stems need 32 (stage 5 at 1x1); CIFAR ones 8. */
const sizeOf = (name: string) => (/^(resnet|plain)(18|34|50|101|152)/.test(name) ? 32 : 8);

function compare(model: tf.LayersModel, x: tf.Tensor, what: string, compiled?: CompiledModel): number {
  const c = compiled ?? compileForInference(model);
  try {
    assert.equal(c.report.executor, 'native', `${what}: ${c.report.reason}`);
    const expected = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const actual = tf.tidy(() => c.predict(x).dataSync());
    const difference = relativeDifference(actual, expected);
    assert.ok(difference <= TOLERANCE, `${what}: relative difference ${difference} > ${TOLERANCE}`);
    return difference;
  } finally {
    if (!compiled) c.dispose();
  }
}

describe('native inference executor', { skip }, () => {
  before(async () => {
    await tf.setBackend('native');
    registerNativeInference();
  });
  after(async () => {
    await tf.setBackend('cpu');
  });

  for (const name of familyNames()) {
    test(`${name}: fused prediction equals the layers' (logits, ${sizeOf(name)}x${sizeOf(name)})`, () => {
      const size = sizeOf(name);
      const model = buildFamilyModel(name, { inputShape: [size, size, 3], classes: 5, kernelInitializer: zeros, headActivation: 'linear' });
      try {
        randomizeWeights(model);
        randomizeBatchNorms(model);
        const x = images(2, [size, size, 3]);
        compare(model, x, name);
        x.dispose();
      } finally {
        model.dispose();
      }
    });
  }

  // bfloat16 and int8 against the float32 layers: each precision's own error, not a bug's. Measured
  // relative differences (4 images, random weights and batch-norm statistics, 32x32): bfloat16
  // 6e-3 - 2.6e-2, int8 (ranges calibrated on the same images) 2.1e-2 - 5.8e-2 across these members;
  // the tolerances leave about 2x of margin.
  const LOW_PRECISION_TOLERANCE = { bfloat16: 5e-2, int8: 1.2e-1 } as const;
  for (const name of ['resnet18', 'resnet18-v2', 'plain18', 'resnet50-imagenet', 'resnet50-imagenet-v2', 'plain50']) {
    test(`${name}: bfloat16 and int8 predictions stay within their precision of the float32 layers'`, () => {
      const model = buildFamilyModel(name, { inputShape: [32, 32, 3], classes: 5, kernelInitializer: zeros, headActivation: 'linear' });
      const x = images(4, [32, 32, 3]);
      try {
        randomizeWeights(model);
        randomizeBatchNorms(model);
        const expected = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
        const float32 = compileForInference(model, { precision: 'float32' });
        const ranges = float32.observeRanges!([x]);
        float32.dispose();
        for (const precision of ['bfloat16', 'int8'] as const) {
          const c = compileForInference(model, precision === 'int8' ? { precision, ranges } : { precision });
          try {
            assert.equal(c.report.executor, 'native', `${name} ${precision}: ${c.report.reason}`);
            const actual = tf.tidy(() => c.predict(x).dataSync());
            const difference = relativeDifference(actual, expected);
            assert.ok(difference <= LOW_PRECISION_TOLERANCE[precision], `${name} ${precision}: relative difference ${difference} > ${LOW_PRECISION_TOLERANCE[precision]}`);
          } finally {
            c.dispose();
          }
        }
      } finally {
        x.dispose();
        model.dispose();
      }
    });
  }

  for (const [name, size] of [['resnet50', 64], ['tiny-resnet', 12]] as const) {
    test(`${name}: fused probabilities equal the layers' (softmax head, every batch norm folded)`, () => {
      const model = buildModel(name, { inputShape: [size, size, 3], classes: 6 });
      try {
        randomizeBatchNorms(model);
        const x = images(3, [size, size, 3]);
        const c = compileForInference(model);
        compare(model, x, name, c);
        const ops = c.report.operations;
        assert.equal(ops.batchNorm ?? 0, 0, 'every batch norm folded');
        assert.equal(ops.relu ?? 0, 0, 'every ReLU fused');
        assert.equal(ops.add ?? 0, 0, 'every Add fused');
        c.dispose();
        x.dispose();
      } finally {
        model.dispose();
      }
    });
  }

  test('weights refreshed when the model changes: setWeights, assign, a training step (in place)', async () => {
    const model = buildModel('tiny-resnet', { inputShape: [10, 10, 3], classes: 4 });
    randomizeBatchNorms(model);
    const x = images(4, [10, 10, 3]);
    const c = compileForInference(model);
    const before = tf.tidy(() => c.predict(x).dataSync());
    compare(model, x, 'initial', c);
    // A new kernel through setWeights (a new tensor behind the variable).
    const conv = model.getLayer('block_conv_a');
    const [kernel, bias] = conv.getWeights();
    conv.setWeights([tf.mul(kernel, 1.5), bias]);
    compare(model, x, 'after setWeights', c);
    // New moving statistics through the batch norm's variable.
    const bn = model.getLayer('stem_bn');
    bn.setWeights(bn.getWeights().map((w, i) => (i === 2 ? tf.add(w, 0.3) : w)));
    compare(model, x, 'after a moving-mean change', c);
    // Training steps: the native engine's Adam and batch-norm moving averages update in place.
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
    for (let i = 0; i < 3; i++) await model.trainOnBatch(x, ys);
    compare(model, x, 'after training steps', c);
    const afterTraining = tf.tidy(() => c.predict(x).dataSync());
    assert.ok(relativeDifference(afterTraining, before) > 1e-3, 'the predictions changed');
    c.dispose();
    tf.dispose([x, ys]);
    model.dispose();
  });

  test('a layer the graph does not know runs through its own call (a first-layer per-channel affine)', () => {
    class ChannelAffine extends tf.layers.Layer {
      static className = 'TestChannelAffine';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.tidy(() => tf.add(tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, [2, -1, 0.5]), [-1, 0.5, 0.25]));
      }
    }
    const input = tf.input({ shape: [12, 12, 3] });
    let y = new ChannelAffine({}).apply(input) as tf.SymbolicTensor;
    y = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
    y = tf.layers.activation({ activation: 'relu' }).apply(y) as tf.SymbolicTensor;
    const mid = new ChannelAffine({}).apply(tf.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(y)) as tf.SymbolicTensor;
    y = tf.layers.globalAveragePooling2d({}).apply(mid) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3, activation: 'softmax' }).apply(y) as tf.SymbolicTensor });
    randomizeBatchNorms(model);
    const x = images(2, [12, 12, 3]);
    const c = compileForInference(model);
    assert.equal(c.report.fallbacks.length, 2);
    assert.match(c.report.fallbacks[0], /TestChannelAffine/);
    compare(model, x, 'custom layers', c);
    const numTensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(c.predict(x));
    assert.equal(tf.memory().numTensors, numTensors, 'no tensors left behind by the layer steps');
    c.dispose();
    x.dispose();
    model.dispose();
  });

  test('batch sizes: one plan each (three kept), memory flat across calls', () => {
    const model = buildModel('resnet20', { inputShape: [8, 8, 3], classes: 3 });
    randomizeBatchNorms(model);
    const c = compileForInference(model) as unknown as NativeCompiled & CompiledModel;
    for (const n of [1, 3, 5, 3, 7]) {
      const x = images(n, [8, 8, 3], n);
      compare(model, x, `batch ${n}`, c);
      x.dispose();
    }
    assert.deepEqual(c.planMemory().map((p) => p.batch), [5, 3, 7], 'least recently used plan dropped');
    const x = images(3, [8, 8, 3]);
    const byBatch = () => c.planMemory().sort((p, q) => p.batch - q.batch);
    tf.dispose(c.predict(x));
    const memory = byBatch();
    const numTensors = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.dispose(c.predict(x));
    assert.deepEqual(byBatch(), memory);
    assert.equal(tf.memory().numTensors, numTensors);
    assert.ok(memory.every((p) => p.inPlace === 9), 'the 9 residual sums write into their shortcut');
    assert.throws(() => c.predict(tf.zeros([2, 9, 8, 3])), /expected images \[N, 8, 8, 3\]/);
    c.dispose();
    assert.throws(() => c.predict(x), /disposed/);
    x.dispose();
    model.dispose();
  });

  test('the addon checks plan arguments and throws JavaScript errors', () => {
    const a = loadAddon() as unknown as InferenceAddon;
    const plan = a.inferCreatePlan();
    try {
      const x = a.inferValue(plan, Int32Array.of(1, 4, 4, 2), 'f32', 1, true);
      const y = a.inferValue(plan, Int32Array.of(1, 4, 4, 3), 'f32', 1, false);
      const window = Int32Array.of(3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
      assert.throws(() => a.inferConv(plan, x, y, new Float32Array(5), null, window, false, -1, false), /expected 54 floats/);
      assert.throws(() => a.inferConv(plan, x, 99, new Float32Array(54), null, window, false, -1, false), /unknown value/);
      assert.throws(() => a.inferConv(plan, x, y, new Float32Array(54), null, Int32Array.of(3, 3, 2, 2, 1, 1, 1, 1, 1, 1), false, -1, false),
        /output dims do not match/);
      assert.throws(() => a.inferValue(plan, Int32Array.of(1, 0, 4, 2), 'f32', 1, false), /positive/);
      assert.throws(() => a.inferValue(plan, Int32Array.of(1, 4, 4, 2), 'f16' as 'f32', 1, false), /value type/);
      assert.throws(() => a.inferRun(plan, 0, 1), /not finalized/);
      a.inferConv(plan, x, y, new Float32Array(54), new Float32Array(3), window, true, -1, false);
      a.inferFinalize(plan);
      assert.throws(() => a.inferRun(plan, 0, 1), /not bound/);
      assert.throws(() => a.inferBind(plan, x, new Float32Array(31)), /expected 32 floats/);
      assert.throws(() => a.inferRun(plan, 0, 2), /out of bounds/);
      assert.throws(() => a.inferSetParams(plan, 0, new Float32Array(53), null), /expected 54 floats/);
      assert.throws(() => a.inferRun(12345, 0, 1), /unknown or disposed plan/);
    } finally {
      a.inferDisposePlan(plan);
    }
  });
});
