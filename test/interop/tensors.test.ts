// Layout changes between frameworks, checked element by element against indices worked out by hand,
// and the shape guard that refuses absurd declared sizes before any allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';
import { MAX_WEIGHT_ELEMENTS, elementCount, hwioToOihw, oihwToHwio, permute, reverseInputChannels, transpose2d } from '../../src/interop/tensors.js';

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

test('OIHW -> HWIO: element [o][i][y][x] lands at [y][x][i][o]; HWIO -> OIHW undoes it', () => {
  const [O, I, H, W] = [2, 3, 2, 2];
  const w = { shape: [O, I, H, W], values: iota(O * I * H * W) };
  const hwio = oihwToHwio(w);
  assert.deepEqual(hwio.shape, [H, W, I, O]);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(hwio.values[((y * W + x) * I + i) * O + o], ((o * I + i) * H + y) * W + x);
  assert.deepEqual(hwioToOihw(hwio), w);
});

test('transpose2d: [[0, 1, 2], [3, 4, 5]] -> [[0, 3], [1, 4], [2, 5]]', () => {
  assert.deepEqual(transpose2d({ shape: [2, 3], values: iota(6) }), { shape: [3, 2], values: Float32Array.from([0, 3, 1, 4, 2, 5]) });
});

test('permute: [2, 3, 4] by axes [1, 2, 0]: element [a][b][c] lands at [b][c][a]; empty and scalar-like arrays; bad axes refused', () => {
  const [A, B, C] = [2, 3, 4];
  const p = permute({ shape: [A, B, C], values: iota(A * B * C) }, [1, 2, 0]);
  assert.deepEqual(p.shape, [B, C, A]);
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) assert.equal(p.values[(b * C + c) * A + a], (a * B + b) * C + c);
  assert.deepEqual(permute({ shape: [0, 3], values: new Float32Array(0) }, [1, 0]), { shape: [3, 0], values: new Float32Array(0) });
  assert.deepEqual(permute({ shape: [1, 1], values: Float32Array.of(7) }, [1, 0]), { shape: [1, 1], values: Float32Array.of(7) });
  assert.throws(() => permute({ shape: [2, 2], values: iota(4) }, [0, 0]), RangeError);
  assert.throws(() => permute({ shape: [2, 2], values: iota(4) }, [0]), RangeError);
  assert.throws(() => permute({ shape: [2, 2], values: iota(4) }, [1, 2]), RangeError);
});

test('reverseInputChannels: BGR input channels become RGB, each pixel of the kernel', () => {
  // 1x2 kernel, 3 input channels, 2 filters: values c*10 + o + 100*pixel.
  const values = Float32Array.from([0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121]);
  const out = reverseInputChannels({ shape: [1, 2, 3, 2], values });
  assert.deepEqual(Array.from(out.values), [20, 21, 10, 11, 0, 1, 120, 121, 110, 111, 100, 101]);
});

test('elementCount refuses absurd or malformed shapes before any allocation', () => {
  assert.equal(elementCount([7, 7, 3, 64], 'w'), 9408);
  assert.equal(elementCount([], 'w'), 1);
  assert.throws(() => elementCount([2 ** 20, 2 ** 20], 'w'), (e: Error) => e instanceof UserError && /absurdly large/.test(e.message));
  assert.throws(() => elementCount([MAX_WEIGHT_ELEMENTS + 1], 'w'), UserError);
  assert.throws(() => elementCount([-1, 3], 'w'), UserError);
  assert.throws(() => elementCount([1.5], 'w'), UserError);
  assert.throws(() => elementCount('3,3', 'w'), UserError);
  assert.throws(() => elementCount(new Array(9).fill(1), 'w'), UserError);
});
