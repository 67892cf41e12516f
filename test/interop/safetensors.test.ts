// The safetensors reader on files written here byte by byte: every float dtype read back exactly,
// and each kind of hostile file (header length beyond the file, absurd header or shape, offsets
// past the data, byte counts that do not match the shape, broken JSON) refused with a UserError.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';
import { MAX_HEADER_BYTES, parseSafetensors } from '../../src/interop/safetensors.js';
import { f32, safetensorsBytes } from './fixtures.js';

const refused = (bytes: Uint8Array, pattern: RegExp) =>
  assert.throws(() => {
    const file = parseSafetensors(bytes, 'x.safetensors');
    for (const name of file.tensors.keys()) file.get(name).read();
  }, (e: Error) => e instanceof UserError && pattern.test(e.message) && e.message.startsWith('x.safetensors'));

describe('safetensors reader', () => {
  test('reads F32, F16, BF16 and F64 tensors (exactly representable values) and the metadata', () => {
    const values = [1, -2, 0.5, 3.25];
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x4280]).buffer); // IEEE half of 1, -2, 0.5, 3.25
    const bf16 = new Uint8Array(new Uint16Array(Array.from(new Uint32Array(Float32Array.from(values).buffer), (b) => b >>> 16)).buffer);
    const bytes = safetensorsBytes({
      a: f32(values, [2, 2]),
      b: { dtype: 'F16', shape: [4], data: f16 },
      c: { dtype: 'BF16', shape: [4], data: bf16 },
      d: { dtype: 'F64', shape: [1, 4], data: new Uint8Array(Float64Array.from(values).buffer) },
    });
    const file = parseSafetensors(bytes, 'x.safetensors');
    assert.equal(file.metadata.format, 'pt');
    for (const name of ['a', 'b', 'c', 'd']) assert.deepEqual(Array.from(file.get(name).read()), values, name);
    assert.deepEqual(file.get('d').shape, [1, 4]);
  });

  test('integer tensors are listed but not read as weights', () => {
    const file = parseSafetensors(safetensorsBytes({ n: { dtype: 'I64', shape: [], data: new Uint8Array(8) } }), 'x.safetensors');
    assert.ok(file.tensors.has('n'));
    assert.throws(() => file.get('n'), /not floating-point/);
  });

  test('header length beyond the end of the file', () => {
    const bytes = safetensorsBytes({ a: f32([1], [1]) });
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    refused(bytes, /beyond the end/);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true);
    refused(bytes, /beyond the end/);
  });

  test('absurd header length (over 100 MB) within a large file is refused before decoding', () => {
    const bytes = new Uint8Array(8 + MAX_HEADER_BYTES + 1);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    refused(bytes, /over 100000000/);
  });

  test('truncated file: a tensor ends past the data section', () => {
    const bytes = safetensorsBytes({ a: f32([1, 2, 3, 4], [4]) });
    refused(bytes.subarray(0, bytes.length - 4), /truncated/);
  });

  test('absurd declared shape', () => {
    refused(safetensorsBytes({}, { a: { dtype: 'F32', shape: [1e6, 1e6, 1e6], data_offsets: [0, 4] } }), /absurdly large/);
    refused(safetensorsBytes({}, { a: { dtype: 'F32', shape: [-4], data_offsets: [0, 4] } }), /non-negative integers/);
  });

  test('byte count that does not match shape and dtype; bad offsets; unknown dtype; not JSON; too short', () => {
    refused(safetensorsBytes({ a: { dtype: 'F32', shape: [3], data: new Uint8Array(8) } }), /8 bytes for shape \[3\]/);
    refused(safetensorsBytes({}, { a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }), /invalid data_offsets/);
    refused(safetensorsBytes({}, { a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }), /unknown dtype/);
    const bad = safetensorsBytes({ a: f32([1], [1]) });
    bad[9] = 0x7d; // '}' where a '"' was
    refused(bad, /not valid JSON/);
    refused(new Uint8Array(5), /shorter than its 8-byte header/);
  });
});
