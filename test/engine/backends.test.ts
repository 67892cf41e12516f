// Engine and precision selection as the CLI asks for them (startEngine): every refusal is a
// UserError with one line naming the option; a precision that is granted is really in effect.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../src/tf.js';
import { UserError } from '../../src/errors.js';
import { enginePrecisions, startEngine } from '../../src/engine/backends.js';
import { nativePrecision, setNativePrecision } from '../../src/engine/native/backend.js';
import { nativeSkip } from '../support/native.js';

const userError = (pattern: RegExp) => (e: Error) => e instanceof UserError && pattern.test(e.message);

test('unknown engine or precision names are refused before anything starts', async () => {
  await assert.rejects(startEngine('gpu'), userError(/--backend must be one of auto, native, wasm, cpu; got 'gpu'/));
  await assert.rejects(startEngine('cpu', 'float16'), userError(/--precision must be one of float32, bfloat16; got 'float16'/));
});

test('bfloat16 is refused on the engines that compute in float32 only', async () => {
  await assert.rejects(startEngine('cpu', 'bfloat16'), userError(/precision bfloat16 needs the native engine/));
  assert.equal(await startEngine('cpu', 'float32'), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test('native engine: bfloat16 is granted where the CPU has it, and float32 switches it back', { skip: nativeSkip }, async () => {
  const cpuHasBf16 = setNativePrecision('bfloat16');
  setNativePrecision('float32');
  try {
    if (cpuHasBf16) {
      assert.equal(await startEngine('native', 'bfloat16'), 'native');
      assert.equal(nativePrecision(), 'bfloat16');
    } else {
      await assert.rejects(startEngine('native', 'bfloat16'), userError(/no bfloat16 instructions/));
    }
    await startEngine('native', 'float32');
    assert.equal(nativePrecision(), 'float32');
  } finally {
    setNativePrecision('float32');
    await tf.setBackend('cpu');
  }
});

test('enginePrecisions lists what each engine computes in, and leaves the native precision as it was', { skip: nativeSkip }, async () => {
  assert.deepEqual(await enginePrecisions('cpu'), ['float32']);
  assert.deepEqual(await enginePrecisions('wasm'), ['float32']);
  const cpuHasBf16 = setNativePrecision('bfloat16');
  try {
    assert.deepEqual(await enginePrecisions('native'), cpuHasBf16 ? ['float32', 'bfloat16'] : ['float32']);
    assert.equal(nativePrecision(), cpuHasBf16 ? 'bfloat16' : 'float32');
  } finally {
    setNativePrecision('float32');
  }
  assert.deepEqual(await enginePrecisions('native'), cpuHasBf16 ? ['float32', 'bfloat16'] : ['float32']);
  assert.equal(nativePrecision(), 'float32');
});

test('the engine choice depends on the native engine, not the reverse (the shared Precision type lives in precision.ts)', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = new URL('../../src/engine/native/', import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    assert.doesNotMatch(readFileSync(new URL(file, dir), 'utf8'), /from '\.\.\/backends\.js'|import\('\.\.\/backends\.js'\)/, file);
  }
});
