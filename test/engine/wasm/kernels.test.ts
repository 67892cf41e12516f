// The wasm engine's training kernels (src/engine/wasm) against TensorFlow.js's reference 'cpu'
// backend: the same random inputs go through both engines and the results are compared.
// Tolerances (test/support/tolerance.ts): the two engines sum the same products of values in
// [-0.5, 0.5) in different orders; results are of order 1 and differ by up to ~1.4e-6 (conv data
// gradients, ~3e-7 beyond 1e-5 relative), so 1e-5 of each value plus an absolute floor per check.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/tf.js';
import { useBackend } from '../../../src/engine/backends.js';
import {
  convGeometry,
  dataGradient,
  filterGradient,
  type DataGradientMethod,
  type FilterGradientMethod,
} from '../../../src/engine/wasm/conv_gradients.js';
import type { WasmBackend } from '../../../src/engine/wasm/heap.js';
import { assertClose as assertWithin, type Tolerance } from '../../support/tolerance.js';

/** Sums of up to a few hundred products in another order (measured worst 3.2e-7 beyond 1e-5 relative). */
const SUMS: Tolerance = { abs: 2e-6, rel: 1e-5 };
await useBackend('wasm');

/** Deterministic pseudo-random values in [-0.5, 0.5) (a linear congruential generator). */
function randomValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 32 - 0.5;
  }
  return out;
}

/** Runs `compute` on one engine and returns its outputs as plain arrays (no tensor left behind). */
async function on(engine: 'cpu' | 'wasm', compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(engine);
  const outs = tf.tidy(compute);
  const values = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return values;
}

/** assertWithin (support/tolerance.ts), after checking that the reference is not all zeros (that would prove nothing). */
function assertClose(actual: Float32Array, expected: Float32Array, what: string, tol: Tolerance = SUMS): void {
  assert.ok(expected.some((v) => v !== 0), `${what}: reference is all zeros, the comparison would prove nothing`);
  assertWithin(actual, expected, tol, what);
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  kernel: number;
  stride: number;
  pad: Pad;
  /** [height, width, inChannels, outChannels]; default odd sizes (see imageSize) with 3 -> 4 channels. */
  sizes?: [number, number, number, number];
}

const BATCH = 2;
const [HEIGHT, WIDTH, IN_CHANNELS, OUT_CHANNELS] = [5, 7, 3, 4];
/** Odd image sizes; 7x7 'valid' kernels need at least 7 rows. */
const imageSize = (kernel: number) => (kernel > HEIGHT ? [9, WIDTH] : [HEIGHT, WIDTH]);

function caseSizes(c: ConvCase): [number, number, number, number] {
  return c.sizes ?? [...imageSize(c.kernel), IN_CHANNELS, OUT_CHANNELS] as [number, number, number, number];
}

/** dx and dW of sum(conv2d(x, w) * r) for a random r, i.e. the kernels fed with dy = r. */
function convGradients(c: ConvCase, seed: number): () => tf.Tensor[] {
  const { kernel, stride, pad } = c;
  const [height, width, inChannels, outChannels] = caseSizes(c);
  const xValues = randomValues(BATCH * height * width * inChannels, seed);
  const wValues = randomValues(kernel * kernel * inChannels * outChannels, seed + 1);
  return () => {
    const x = tf.tensor4d(xValues, [BATCH, height, width, inChannels]);
    const w = tf.tensor4d(wValues, [kernel, kernel, inChannels, outChannels]);
    const outShape = tf.conv2d(x, w, stride, pad).shape;
    const r = tf.tensor4d(randomValues(tf.util.sizeFromShape(outShape), seed + 2), outShape);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), r)))([x, w]);
  };
}

describe('wasm Conv2DBackpropInput / Conv2DBackpropFilter match the cpu engine', () => {
  const cases: ConvCase[] = [];
  for (const kernel of [1, 3, 7]) for (const stride of [1, 2]) for (const pad of ['same', 'valid'] as const) cases.push({ kernel, stride, pad });
  // Explicit paddings (asymmetric, and larger than kernel-1, which takes the col2im route).
  cases.push({ kernel: 3, stride: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] });
  cases.push({ kernel: 3, stride: 2, pad: [[0, 0], [1, 2], [3, 0], [0, 0]] });
  cases.push({ kernel: 1, stride: 1, pad: [[0, 0], [1, 0], [0, 1], [0, 0]] });
  // N*H*W = 128 rows: the tiled JavaScript transposes (used where the engine's transpose aliases).
  cases.push({ kernel: 3, stride: 1, pad: 'same', sizes: [8, 8, 16, 16] });
  cases.push({ kernel: 1, stride: 2, pad: 'valid', sizes: [8, 8, 16, 32] });

  cases.forEach((c, i) => {
    test(`kernel ${c.kernel}, stride ${c.stride}, padding ${JSON.stringify(c.pad)}, x ${[BATCH, ...caseSizes(c).slice(0, 3)].join('x')} -> ${caseSizes(c)[3]} channels`, async () => {
      const expected = await on('cpu', convGradients(c, 100 + 10 * i));
      const actual = await on('wasm', convGradients(c, 100 + 10 * i));
      assertClose(actual[0], expected[0], 'dx');
      assertClose(actual[1], expected[1], 'dW');
    });
  });

  test('every data-gradient method (transposed convolution, dy·Wᵀ + col2im, W·dyᵀ + col2im) agrees with the cpu engine', async () => {
    const [kernel, inShape] = [3, [BATCH, HEIGHT, WIDTH, IN_CHANNELS] as [number, number, number, number]];
    const filterShape: [number, number, number, number] = [kernel, kernel, IN_CHANNELS, OUT_CHANNELS];
    const attrs = { strides: 1, pad: 'same' as const, dataFormat: 'NHWC' as const };
    const g = convGeometry(inShape, filterShape, attrs);
    const dyValues = randomValues(BATCH * g.outHeight * g.outWidth * OUT_CHANNELS, 7);
    const wValues = randomValues(tf.util.sizeFromShape(filterShape), 8);
    const [expected] = await on('cpu', () => [
      tf.conv2dTranspose(tf.tensor4d(dyValues, [BATCH, g.outHeight, g.outWidth, OUT_CHANNELS]), tf.tensor4d(wValues, filterShape), [BATCH, HEIGHT, WIDTH, IN_CHANNELS], 1, 'same'),
    ]);
    for (const method of ['transposedConv', 'col2im', 'col2imT'] as DataGradientMethod[]) {
      const [actual] = await on('wasm', () => {
        const dy = tf.tensor4d(dyValues, [BATCH, g.outHeight, g.outWidth, OUT_CHANNELS]);
        const info = dataGradient(tf.backend() as WasmBackend, dy, tf.tensor4d(wValues, filterShape), g, method);
        return [tf.engine().makeTensorFromTensorInfo(info)];
      });
      assertClose(actual, expected, `dx by ${method}`);
    }
  });

  test('both filter-gradient orientations (im2colᵀ·dy, (dyᵀ·x)ᵀ) agree with the cpu engine on a 1x1 convolution', async () => {
    const inShape: [number, number, number, number] = [BATCH, HEIGHT, WIDTH, 8];
    const filterShape: [number, number, number, number] = [1, 1, 8, 6];
    const g = convGeometry(inShape, filterShape, { strides: 1, pad: 'valid', dataFormat: 'NHWC' });
    const xValues = randomValues(tf.util.sizeFromShape(inShape), 5);
    const dyValues = randomValues(BATCH * HEIGHT * WIDTH * 6, 6);
    const dyShape: [number, number, number, number] = [BATCH, HEIGHT, WIDTH, 6];
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape };
    const [expected] = await on('cpu', () => [
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xValues, inShape), dy: tf.tensor4d(dyValues, dyShape) }, attrs) as tf.Tensor,
    ]);
    for (const method of ['colsT', 'dyT'] as FilterGradientMethod[]) {
      const [actual] = await on('wasm', () => {
        const info = filterGradient(tf.backend() as WasmBackend, tf.tensor4d(xValues, inShape), tf.tensor4d(dyValues, dyShape), g, method);
        return [tf.engine().makeTensorFromTensorInfo(info)];
      });
      assertClose(actual, expected, `dW by ${method}`);
    }
  });
});

describe('wasm FusedBatchNorm matches the cpu engine', () => {
  const shape = [2, 3, 5, 6];
  const channels = shape[3];
  for (const [withOffset, withScale] of [[true, true], [false, true], [true, false], [false, false]]) {
    test(`per-channel parameters, offset ${withOffset}, scale ${withScale}`, async () => {
      const xValues = randomValues(tf.util.sizeFromShape(shape), 21);
      const params = [22, 23, 24, 25].map((seed) => randomValues(channels, seed));
      const run = () => {
        const [mean, varianceRaw, offset, scale] = params.map((p) => tf.tensor1d(p));
        const variance = tf.add(tf.abs(varianceRaw), 0.1); // a variance is positive
        return [tf.batchNorm(tf.tensor(xValues, shape), mean, variance, withOffset ? offset : undefined, withScale ? scale : undefined, 1e-3)];
      };
      assertClose((await on('wasm', run))[0], (await on('cpu', run))[0], 'batchNorm');
    });
  }
  test('parameters shaped like x take the engine kernel and still match', async () => {
    const small = [2, 2, 3];
    const values = randomValues(12, 31);
    const run = () => {
      const x = tf.tensor(values, small);
      return [tf.batchNorm(x, tf.mul(x, 0.5), tf.onesLike(x), undefined, tf.fill(small, 2), 1e-3)];
    };
    assertClose((await on('wasm', run))[0], (await on('cpu', run))[0], 'batchNorm with full-shape parameters');
  });
});

describe('wasm Tile matches the cpu engine', () => {
  const cases: Array<[number[], number[]]> = [[[1, 1, 1, 5], [2, 3, 4, 1]], [[2, 3], [2, 2]], [[3, 1, 2], [1, 4, 3]], [[4], [3]], [[2, 1, 3, 1], [1, 5, 1, 2]]];
  for (const [shape, reps] of cases) {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      test(`tile ${JSON.stringify(shape)} by ${JSON.stringify(reps)} (${dtype})`, async () => {
        const values = Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => (dtype === 'bool' ? i % 2 : 1.5 * i - 3));
        const run = async (engine: 'cpu' | 'wasm') => {
          await tf.setBackend(engine);
          return tf.tidy(() => tf.tile(tf.tensor(values, shape, dtype), reps).arraySync());
        };
        assert.deepEqual(await run('wasm'), await run('cpu'));
      });
    }
  }
});

describe('wasm Sum and Mean match the cpu engine', () => {
  const cases: Array<[number[], number | number[], boolean, 'float32' | 'int32']> = [
    [[2, 3, 4, 5], [0, 1, 2], true, 'float32'], // batch statistics of NHWC (the fast path)
    [[2, 3, 4, 5], [0, 1, 2], false, 'float32'],
    [[7, 3], 0, false, 'float32'],
    [[19, 5], 0, true, 'float32'], // two passes of 8 rows and 3 rows left over
    [[2, 3, 4, 5], [-4, -3], false, 'float32'], // negative axes naming 0 and 1
    [[2, 3, 4, 5], [1, 2], true, 'float32'], // not leading: the engine's kernel
    [[2, 3, 4, 5], -1, false, 'float32'],
    [[2, 3, 4, 5], [0, 1, 2, 3], false, 'float32'],
    [[6, 4], 0, false, 'int32'],
  ];
  for (const [shape, axis, keepDims, dtype] of cases) {
    test(`sum and mean of ${JSON.stringify(shape)} ${dtype} over ${JSON.stringify(axis)}, keepDims ${keepDims}`, async () => {
      const values = randomValues(tf.util.sizeFromShape(shape), 3).map((v) => (dtype === 'int32' ? Math.round(20 * v) : v));
      const reduce = () => {
        const x = tf.tensor(values, shape, dtype);
        return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)];
      };
      await tf.setBackend('cpu');
      const expected = tf.tidy(() => reduce().map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array })));
      await tf.setBackend('wasm');
      const actual = tf.tidy(() => reduce().map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array })));
      expected.forEach((e, i) => {
        assert.deepEqual(actual[i].shape, e.shape);
        assertClose(Float32Array.from(actual[i].values), Float32Array.from(e.values), i === 0 ? 'sum' : 'mean');
      });
    });
  }
});

test('wasm Identity (tf.clone) shares memory safely: the clone outlives its source and is freed with it', async () => {
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const buffersBefore = (tf.backend() as WasmBackend).numDataIds();
  const source = tf.tensor2d([[1, 2], [3, 4]]);
  const copy = tf.clone(source);
  source.dispose();
  assert.deepEqual(copy.arraySync(), [[1, 2], [3, 4]]);
  const doubled = tf.mul(copy, 2);
  assert.deepEqual(doubled.arraySync(), [[2, 4], [6, 8]]);
  tf.dispose([copy, doubled]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal((tf.backend() as WasmBackend).numDataIds(), buffersBefore, 'wasm buffers leaked');
});

/** Conv (7x7 stride 2 after zero padding) + BN + ReLU + max pool + 3x3 and strided 1x1 convs + add + avg pool + dense. */
function tinyResidualModel(): tf.LayersModel {
  const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });
  const input = tf.input({ shape: [11, 9, 3] });
  let x = tf.layers.zeroPadding2d({ padding: [3, 3] }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 4, kernelSize: 7, strides: 2, kernelInitializer: seeded(1) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ axis: 3 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as tf.SymbolicTensor;
  let main = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: seeded(2) }).apply(x) as tf.SymbolicTensor;
  main = tf.layers.batchNormalization({ axis: 3 }).apply(main) as tf.SymbolicTensor;
  const shortcut = tf.layers.conv2d({ filters: 6, kernelSize: 1, kernelInitializer: seeded(3) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.add().apply([main, shortcut]) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 5, kernelSize: 1, strides: 2, kernelInitializer: seeded(4) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: seeded(5) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

describe('training a small residual network on wasm', () => {
  const images = randomValues(4 * 11 * 9 * 3, 42).map((v) => v + 0.5);
  const labels = [0, 2, 1, 2];

  test('the gradients of a training-mode step (BN, pooling, convs, softmax loss) match the cpu engine', async () => {
    await tf.setBackend('cpu');
    const model = tinyResidualModel(); // the same weights serve both engines (tensors move between them)
    const gradients = () => {
      const x = tf.tensor4d(images, [4, 11, 9, 3]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
      const { grads } = tf.variableGrads(() => {
        const p = model.apply(x, { training: true }) as tf.Tensor;
        return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(p)), -1))) as tf.Scalar; // categorical cross-entropy
      });
      return model.trainableWeights.map((w) => {
        const g = grads[w.originalName];
        if (g === undefined) throw new Error(`no gradient for ${w.originalName}`);
        return g;
      });
    };
    const expected = await on('cpu', gradients);
    const actual = await on('wasm', gradients);
    assert.equal(actual.length, model.trainableWeights.length);
    // Gradients of 0.03-0.9, relative; a conv bias feeding a training-mode BatchNormalization has
    // an exact gradient of 0 (BN subtracts the batch mean): both engines return float32 rounding
    // noise there (~3e-8), hence the floor.
    const GRADIENTS: Tolerance = { abs: 5e-7, rel: 1e-5 };
    const largest = Math.max(...expected.map((g) => Math.max(...g.map(Math.abs))));
    assert.ok(largest > 1e-3, `gradients too small to compare (${largest})`);
    model.trainableWeights.forEach((w, i) => assertClose(actual[i], expected[i], `gradient of ${w.originalName}`, GRADIENTS));
    model.dispose();
  });

  test('a few Adam steps lower the loss and leak no tensors', async () => {
    await tf.setBackend('wasm');
    const model = tinyResidualModel();
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const x = tf.tensor4d(images, [4, 11, 9, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const losses: number[] = [];
    let tensorsAfterFirstStep = 0;
    for (let step = 0; step < 8; step++) {
      losses.push((await model.trainOnBatch(x, y)) as number);
      if (step === 0) tensorsAfterFirstStep = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, tensorsAfterFirstStep, 'tensor count grew across training steps');
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(losses[losses.length - 1] < 0.7 * losses[0], `loss did not fall: ${losses.map((l) => l.toFixed(3))}`);
    tf.dispose([x, y]);
    model.dispose();
  });
});
