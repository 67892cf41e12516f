// The raw addon misused: arrays whose lengths contradict the shapes, zero strides and dilations,
// sizes whose products overflow, wrong argument types. Each call must throw a JS exception
// (RangeError for lengths and geometry, TypeError for types) and leave the process working: the
// last test computes a convolution correctly after all of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAddon, missingExports } from '../../../src/engine/native/addon.js';
import { skip } from './helpers.js';

const f32 = (n: number) => new Float32Array(n);
/** [N, H, W, C, O, KH, KW, OH, OW, strideH, strideW, dilationH, dilationW, padTop, padBottom, padLeft, padRight] */
const geometry = (over: Partial<Record<number, number>> = {}) => {
  const g = [1, 4, 4, 2, 3, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0];
  for (const [i, v] of Object.entries(over)) g[Number(i)] = v!;
  return Int32Array.from(g);
};
// Consistent arrays for geometry(): x 1x4x4x2, filter 3x3x2x3, y 1x2x2x3.
const X = 32, FILTER = 54, Y = 12;

const rangeError = (pattern: RegExp) => (e: unknown) => e instanceof RangeError && pattern.test(e.message);
const typeError = (pattern: RegExp) => (e: unknown) => e instanceof TypeError && pattern.test(e.message);

test('every export declared in addon.ts is in the built addon', { skip }, () => {
  assert.deepEqual(missingExports(loadAddon()!), []);
  assert.deepEqual(missingExports({ conv2d: () => {} }).includes('conv2d'), false);
  assert.ok(missingExports({ conv2d: 'not a function' }).includes('conv2d'));
});

test('convolutions: lengths that contradict the geometry are RangeErrors, in all three passes and both algorithms', { skip }, () => {
  const addon = loadAddon()!;
  for (const algorithm of ['primitive', 'gemm'] as const) {
    addon.setConvAlgorithm(algorithm);
    try {
      assert.throws(() => addon.conv2d(f32(X - 1), f32(FILTER), null, f32(Y), geometry(), false), rangeError(/^conv2d: x has 31 elements, the shape says 32/));
      assert.throws(() => addon.conv2d(f32(X), f32(FILTER + 1), null, f32(Y), geometry(), false), rangeError(/filter has 55/));
      assert.throws(() => addon.conv2d(f32(X), f32(FILTER), f32(2), f32(Y), geometry(), false), rangeError(/bias has 2/));
      assert.throws(() => addon.conv2d(f32(X), f32(FILTER), null, f32(Y - 3), geometry(), false), rangeError(/y has 9/));
      assert.throws(() => addon.conv2dBackpropInput(f32(Y), f32(FILTER), f32(X + 8), geometry()), rangeError(/^conv2dBackpropInput: dx has 40/));
      assert.throws(() => addon.conv2dBackpropFilter(f32(X), f32(Y), f32(1), geometry()), rangeError(/^conv2dBackpropFilter: dfilter has 1 /));
      // The output size must be the one the input, filter, strides and pads give.
      assert.throws(() => addon.conv2d(f32(X), f32(FILTER), null, f32(Y), geometry({ 7: 1, 8: 12 }), false), rangeError(/output size does not match/));
    } finally {
      addon.setConvAlgorithm('auto');
    }
  }
});

test('convolutions: zero or negative strides and dilations, negative pads and sizes are RangeErrors', { skip }, () => {
  const addon = loadAddon()!;
  const call = (g: Int32Array) => () => addon.conv2d(f32(X), f32(FILTER), null, f32(Y), g, false);
  assert.throws(call(geometry({ 9: 0 })), rangeError(/strides must be positive/));
  assert.throws(call(geometry({ 10: -1 })), rangeError(/strides must be positive/));
  assert.throws(call(geometry({ 11: 0 })), rangeError(/dilations must be positive/));
  assert.throws(call(geometry({ 15: -2 })), rangeError(/pads must not be negative/));
  assert.throws(call(geometry({ 0: 0 })), rangeError(/sizes must be positive/));
  assert.throws(call(geometry({ 3: -2, 4: -3 })), rangeError(/sizes must be positive/));
  assert.throws(() => addon.conv2dBackpropInput(f32(Y), f32(FILTER), f32(X), geometry({ 9: 0 })), rangeError(/strides must be positive/));
  assert.throws(() => addon.conv2dBackpropFilter(f32(X), f32(Y), f32(FILTER), geometry({ 12: 0 })), rangeError(/dilations must be positive/));
  assert.throws(() => addon.conv2d(f32(X), f32(FILTER), null, f32(Y), Int32Array.of(1, 2, 3), false), rangeError(/expected 17 ints/));
});

test('huge sizes: products that overflow, an im2col matrix beyond memory: RangeErrors, nothing allocated', { skip }, () => {
  const addon = loadAddon()!;
  const big = 2 ** 30;
  // N*H*W*C = 2^120 (wraps to 0 in 64 bits): must not be taken for an empty tensor.
  assert.throws(() => addon.conv2d(f32(0), f32(FILTER), null, f32(Y),
    geometry({ 0: big, 1: big, 2: big, 3: big, 7: big - 2, 8: big - 2 }), false), RangeError);
  assert.throws(() => addon.matMul(f32(0), f32(0), null, f32(0), Int32Array.of(big, big, big, big), false, false, false), rangeError(/size too large/));
  assert.throws(() => addon.reduce(f32(0), f32(0), 2 ** 40, 2 ** 40, 2 ** 40, 1), rangeError(/size too large/));
  assert.throws(() => addon.tile(f32(1), f32(0), Int32Array.of(1, 1), Int32Array.of(big, big)), RangeError);
  assert.throws(() => addon.setThreads(1e9, 0), rangeError(/thread counts must be/));
  // A 1000x1000 filter over a 1x1 image padded to 1999x1999 (1x1 output channel): consistent
  // arrays of 4 MB each, but its im2col matrix would take 4 TB.
  addon.setConvAlgorithm('gemm');
  try {
    const g = Int32Array.from([1, 1, 1, 1, 1, 1000, 1000, 1000, 1000, 1, 1, 1, 1, 999, 999, 999, 999]);
    assert.throws(() => addon.conv2d(f32(1), f32(1e6), null, f32(1e6), g, false), rangeError(/im2col matrix .* exceeds half of this machine's memory/));
  } finally {
    addon.setConvAlgorithm('auto');
  }
});

test('the other kernels: inconsistent lengths, zero strides, unknown ops and wrong types throw', { skip }, () => {
  const addon = loadAddon()!;
  const pool = (over: Partial<Record<number, number>> = {}) => {
    const g = [1, 4, 4, 2, 2, 2, 2, 2, 2, 2, 0, 0]; // N H W C OH OW KH KW sh sw pt pl
    for (const [i, v] of Object.entries(over)) g[Number(i)] = v!;
    return Int32Array.from(g);
  };
  assert.throws(() => addon.maxPool(f32(32), f32(8), pool({ 8: 0 })), rangeError(/^maxPool: pool geometry: strides must be positive/));
  assert.throws(() => addon.avgPool(f32(31), f32(8), pool()), rangeError(/bad length of x/));
  assert.throws(() => addon.maxPoolGrad(f32(8), f32(32), f32(33), pool()), rangeError(/bad length of dx/));
  assert.throws(() => addon.avgPoolGrad(f32(8), f32(32), pool({ 10: -1 })), rangeError(/pads must not be negative/));
  assert.throws(() => addon.binary(0, f32(3), f32(4), f32(8)), rangeError(/^binary: operand lengths do not broadcast/));
  assert.throws(() => addon.binary(99, f32(4), f32(4), f32(4)), rangeError(/unknown op/));
  assert.throws(() => addon.unary(-1, f32(4), f32(4), 0), rangeError(/unknown op/));
  assert.throws(() => addon.unary(0, f32(4), f32(5), 0), rangeError(/lengths differ/));
  assert.throws(() => addon.binaryRows(0, f32(8), f32(3), f32(8), 0), rangeError(/do not match/));
  assert.throws(() => addon.softmax(f32(10), f32(10), 3), rangeError(/bad lengths/));
  assert.throws(() => addon.addReluGrad(f32(4), f32(4), f32(3), f32(4)), rangeError(/lengths differ/));
  assert.throws(() => addon.tile(f32(2), f32(4), Int32Array.of(-2), Int32Array.of(-2)), rangeError(/negative size/));
  assert.throws(() => addon.reduce(f32(12), f32(4), 1, 3, 3, 1), rangeError(/lengths do not match/));
  assert.throws(() => addon.spread(f32(4), f32(12), -1, -3, 4, 1), rangeError(/negative size/));
  assert.throws(() => addon.matMul(f32(6), f32(6), null, f32(5), Int32Array.of(1, 2, 2, 3), false, false, false), rangeError(/^matMul: out has 5 elements, the shape says 4/));
  assert.throws(() => addon.matMul(f32(6), f32(6), f32(3), f32(4), Int32Array.of(1, 2, 2, 3), false, false, false), rangeError(/bias has 3/));
  assert.throws(() => addon.matMul(f32(6), f32(6), null, f32(4), Int32Array.of(1, 2, 2, -3), false, false, false), rangeError(/sizes must be positive/));
  assert.throws(() => addon.batchNorm(f32(12), f32(5), f32(5), null, null, f32(12), 1e-3), rangeError(/^batchNorm: statistics do not match/));
  assert.throws(() => addon.batchNormGrad(f32(12), f32(4), f32(4), null, f32(12), 1e-3, f32(12), f32(4), f32(4), f32(3), f32(4)), rangeError(/C elements/));
  assert.throws(() => addon.batchNormTrainingGrad(f32(12), f32(4), f32(4), null, f32(11), 1e-3, f32(12), f32(4), f32(4)), rangeError(/shapes do not match/));
  assert.throws(() => addon.moments(f32(12), f32(5), f32(5), f32(5)), rangeError(/^moments: bad lengths/));
  assert.throws(() => addon.momentsGrad(f32(12), f32(4), f32(4), f32(4), f32(4), f32(11)), rangeError(/bad lengths/));
  assert.throws(() => addon.adam(f32(4), f32(4), f32(4), f32(3), f32(6)), rangeError(/^adam: lengths differ/));
  assert.throws(() => addon.adam(f32(4), f32(4), f32(4), f32(4), f32(5)), rangeError(/6 hyper-parameters/));
  assert.throws(() => addon.momentum(f32(4), f32(4), f32(3), f32(3)), rangeError(/^momentum: lengths differ/));
  assert.throws(() => addon.momentum(f32(4), f32(4), f32(4), f32(2)), rangeError(/3 hyper-parameters/));
  assert.throws(() => addon.copyBlock(f32(12), Int32Array.of(3, 4), f32(6), Int32Array.of(2, 3), Int32Array.of(0, 2), true), rangeError(/^copyBlock: the block must lie inside/));
  // Wrong types are TypeErrors.
  const asAny = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
  assert.throws(() => asAny.unary(0, [1, 2], f32(2), 0), typeError(/^unary: expected a Float32Array/));
  assert.throws(() => asAny.copyBlock(f32(4), Int32Array.of(4), f32(2), Int32Array.of(2), Int32Array.of(0), 1), typeError(/^copyBlock: intoOuter must be a boolean/));
  assert.throws(() => asAny.conv2d(f32(X), f32(FILTER), null, f32(Y), [1, 2], false), typeError(/expected an Int32Array/));
  assert.throws(() => asAny.softmax(f32(4), f32(4), '2'), typeError(/rowLength: expected a number/));
  assert.throws(() => asAny.reduce(f32(4), f32(4), 1, 4.5, 1, 1), typeError(/reduced: expected an integer/));
  assert.throws(() => asAny.setConvAlgorithm(3), typeError(/algorithm: expected a string/));
  assert.throws(() => asAny.setConvPrecision('float16'), typeError(/expected 'float32' or 'bfloat16'/));
  assert.throws(() => asAny.releaseFilter(), typeError(/filterKey: expected a number/));
});

test('after all of that, the addon still computes: a 3x3 convolution of ones equals its window counts', { skip }, () => {
  const addon = loadAddon()!;
  // x: 1x3x3x1 of ones, filter 3x3x1x1 of ones, 'same' padding: y = the in-bounds cells per window.
  const y = f32(9);
  addon.conv2d(new Float32Array(9).fill(1), new Float32Array(9).fill(1), null, y,
    Int32Array.from([1, 3, 3, 1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1]), false);
  assert.deepEqual([...y], [4, 6, 4, 6, 9, 6, 4, 6, 4]);
});
