// The native engine's registration: a boolean (never a throw), the addon found from the module,
// and every cpu kernel present under 'native'.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../src/tf.js';
import { findAddon, loadAddon } from '../../../src/engine/native/addon.js';
import { registerNativeBackend } from '../../../src/engine/native/backend.js';
import { skip } from './helpers.js';

test('registerNativeBackend returns a boolean and is idempotent', () => {
  const first = registerNativeBackend();
  assert.equal(typeof first, 'boolean');
  assert.equal(registerNativeBackend(), first);
  assert.equal(first, findAddon() !== null);
});

test("every cpu kernel is registered for 'native'", { skip }, () => {
  const native = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
  const missing = tf.getKernelsForBackend('cpu').map((k) => k.kernelName).filter((name) => !native.has(name));
  assert.deepEqual(missing, []);
});

test('the native backend reports its oneDNN version via the addon and runs a known convolution', { skip }, async () => {
  assert.match(loadAddon()!.onednnVersion, /^\d+\.\d+\.\d+$/);
  await tf.setBackend('native');
  // A 2x2 input of ones convolved with a 2x2 filter of ones, 'valid': one output equal to 4.
  const y = tf.conv2d(tf.ones([1, 2, 2, 1]) as tf.Tensor4D, tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid');
  assert.deepEqual(Array.from(await y.data()), [4]);
  y.dispose();
});
