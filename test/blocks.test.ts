// The course's blocks checked against outputs worked out independently: all-ones kernels, zero biases,
// and the plain-JavaScript reference of test/support/reference.ts (TensorFlow's 'same' rule, BN formulas).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { convolutionalBlock, identityBlock, type Filters } from '../src/blocks.js';
import { add, batchNorm, convConstant, nhwc, relu, type NHWC } from './support/reference.js';
import { assertClose, type Tolerance } from './support/tolerance.js';

/**
 * float32 against a float64 reference, values of order 1-1000: 1e-5 of each (float32 has ~7
 * digits), and 1e-5 for values that the batch norms bring near zero.
 */
const TOLERANCE: Tolerance = { abs: 1e-5, rel: 1e-5 };
const ones = () => tf.initializers.ones();

before(async () => {
  await tf.setBackend('cpu'); // the reference engine: exact, deterministic
});

/** The main path of both blocks, in reference arithmetic. Returns the BN3 output (before the add). */
function referenceMainPath(x: NHWC, f: number, [F1, F2, F3]: Filters, s: number, training: boolean): NHWC {
  let y = relu(batchNorm(convConstant(x, F1, 1, s, 'valid'), training));
  y = relu(batchNorm(convConstant(y, F2, f, 1, 'same'), training));
  return batchNorm(convConstant(y, F3, 1, 1, 'valid'), training);
}

function toTensor(x: NHWC): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(x.data), x.shape);
}

// A varied input with negative values, so that ReLUs and BN statistics matter.
const input = (shape: [number, number, number, number]) => nhwc(shape, (n, h, w, c) => Math.sin(1 + n * 7 + h * 3 + w * 1.7 + c * 0.9) * 2);

describe('identityBlock (eager, all-ones kernels)', () => {
  for (const f of [2, 3]) {
    for (const training of [false, true]) {
      test(`f=${f}, training=${training}: matches the reference computed by hand`, () => {
        const filters: Filters = [2, 3, 4];
        const x = input([2, 5, 4, 4]);
        const expected = relu(add(referenceMainPath(x, f, filters, 1, training), x));
        const out = tf.tidy(() => identityBlock(toTensor(x), f, filters, { stage: 2, block: 'b', kernelInitializer: ones(), training }));
        assert.deepEqual(out.shape, [2, 5, 4, 4]);
        assertClose(out.dataSync(), expected.data, TOLERANCE, 'block output');
        out.dispose();
      });
    }
  }

  test("f=2 'same' padding puts the extra row and column at the bottom/right (TensorFlow's rule)", () => {
    // One channel, F = [1, 1, 1], inference: BN scales by k = 1/sqrt(1 + 1e-3), and all values stay positive.
    // Pixel values 1..9 on a 3x3 grid. After conv1 (1x1) and BN: a1 = k*v. The 2x2 conv at (0,0) sums the
    // pixels (0,0),(0,1),(1,0),(1,1) = 1+2+4+5 = 12 if the padding is at the bottom/right (TF), but only
    // pixel (0,0) = 1 if it were at the top/left. Output(0,0) = relu(k^3 * 12 + 1) with TF's rule.
    const k = 1 / Math.sqrt(1.001);
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const out = identityBlock(x, 2, [1, 1, 1], { stage: 9, block: 'z', kernelInitializer: ones() });
    const values = out.dataSync();
    assert.ok(Math.abs(values[0] - (k ** 3 * 12 + 1)) < 1e-4, `top-left ${values[0]}`);
    // Bottom-right (2,2): its 2x2 window holds only itself (9) plus padding.
    assert.ok(Math.abs(values[8] - (k ** 3 * 9 + 9)) < 1e-4, `bottom-right ${values[8]}`);
    tf.dispose([x, out]);
  });

  test('there is no ReLU after the third batch norm (training mode makes the main path negative somewhere)', () => {
    const filters: Filters = [2, 2, 3];
    const x = input([2, 4, 4, 3]);
    const mainPath = referenceMainPath(x, 3, filters, 1, true);
    const expected = relu(add(mainPath, x));
    const wrong = relu(add(relu(mainPath), x)); // what a ReLU after BN3 would give
    // The test can discriminate only if the two candidates differ.
    assert.throws(() => assertClose(wrong.data, expected.data, { abs: 1e-2, rel: 1e-2 }, 'ReLU after BN3'));
    const out = identityBlock(toTensor(x), 3, filters, { stage: 2, block: 'c', kernelInitializer: ones(), training: true });
    assertClose(out.dataSync(), expected.data, TOLERANCE, 'block output');
    out.dispose();
  });

  test('rejects an input whose channels differ from F3', () => {
    const x = tf.zeros([1, 4, 4, 5]);
    assert.throws(() => identityBlock(x, 3, [2, 2, 4], { stage: 2, block: 'b' }), /5 channels, F3 is 4/);
    x.dispose();
  });

  test('eager calls leave no tensors behind but their output', () => {
    const x = tf.ones([1, 4, 4, 4]);
    const before = tf.memory().numTensors;
    const out = identityBlock(x, 3, [2, 2, 4], { stage: 2, block: 'b', training: true });
    assert.equal(tf.memory().numTensors, before + 1);
    tf.dispose([x, out]);
  });
});

describe('convolutionalBlock', () => {
  for (const training of [false, true]) {
    test(`f=3, s=2, training=${training}: matches the reference computed by hand`, () => {
      const filters: Filters = [2, 3, 5];
      const x = input([2, 7, 6, 3]);
      const shortcut = batchNorm(convConstant(x, 5, 1, 2, 'valid'), training);
      const expected = relu(add(referenceMainPath(x, 3, filters, 2, training), shortcut));
      const out = convolutionalBlock(toTensor(x), 3, filters, { stage: 3, block: 'a', s: 2, kernelInitializer: ones(), training });
      assert.deepEqual(out.shape, [2, 4, 3, 5]);
      assertClose(out.dataSync(), expected.data, TOLERANCE, 'block output');
      out.dispose();
    });
  }

  for (const [s, size] of [[1, 9], [2, 5], [4, 3]] as const) {
    test(`s=${s} maps 9x9 to ${size}x${size} (1x1 'valid' convolutions of stride s)`, () => {
      const input = tf.input({ shape: [9, 9, 3] });
      const y = convolutionalBlock(input, 3, [4, 4, 8], { stage: 3, block: 'a', s });
      assert.deepEqual(y.shape, [null, size, size, 8]);
    });
  }

  test('the add takes the main path first, then the shortcut, and layer names follow the spec', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const output = convolutionalBlock(input, 3, [4, 4, 8], { stage: 4, block: 'a' });
    const model = tf.model({ inputs: input, outputs: output });
    const addLayer = model.getLayer('add4a');
    assert.equal(addLayer.getClassName(), 'Add');
    const inbound = addLayer.inboundNodes[0].inboundLayers.map((l) => l.name);
    assert.deepEqual(inbound, ['bn4a_branch2c', 'bn4a_branch1']);
    const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.name);
    assert.deepEqual(convs.sort(), ['res4a_branch1', 'res4a_branch2a', 'res4a_branch2b', 'res4a_branch2c']);
    model.dispose();
  });

  test('a symbolic block in a model computes what the eager block computes', () => {
    const x = toTensor(input([1, 6, 6, 3]));
    const symbolicInput = tf.input({ shape: [6, 6, 3] });
    const options = { stage: 2, block: 'a', s: 1, kernelInitializer: ones() };
    const model = tf.model({ inputs: symbolicInput, outputs: convolutionalBlock(symbolicInput, 3, [2, 2, 4], options) });
    const viaModel = model.predict(x) as tf.Tensor;
    const eager = convolutionalBlock(x, 3, [2, 2, 4], options);
    assertClose(viaModel.dataSync(), eager.dataSync(), TOLERANCE, 'model vs eager');
    tf.dispose([x, viaModel, eager]);
    model.dispose();
  });
});
