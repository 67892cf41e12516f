// `importModel` and `resnet import` on files written here (no Python): a torchvision-keyed safetensors
// state dict of a family ResNet-18 imports with the same predictions, a new head keeps the backbone,
// the folder feeds `resnet predict`, and every hostile file gets one `resnet: error:` line.
// (Files from the real Keras and PyTorch: test/interop/frameworks.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/errors.js';
import { buildModel } from '../../src/models/registry.js';
import { preprocessingPreset } from '../../src/models/preprocessing.js';
import { importModel } from '../../src/interop/import.js';
import { replaceHead } from '../../src/interop/head.js';
import { loadModelFolder } from '../../src/train/checkpoint.js';
import { hasStack, runCli, tempDir } from '../cli/helpers.js';
import { randomizeBatchNorm, safetensorsBytes, torchvisionStateDict, writeModelAsLegacyH5, zipBytes } from './fixtures.js';

await tf.setBackend('cpu');
const SIZE = 32;
let dir = '';
let original: tf.LayersModel;
let stateDict = '';
const x = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 11);

before(() => {
  dir = tempDir('resnet-import-');
  original = buildModel('resnet18', { inputShape: [SIZE, SIZE, 3], classes: 5 });
  randomizeBatchNorm(original);
  stateDict = join(dir, 'resnet18.safetensors');
  writeFileSync(stateDict, safetensorsBytes(torchvisionStateDict(original)));
});
after(() => {
  original.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The original model fed what torchvision's weights expect: (x - ImageNet mean) / std. */
function originalOnNormalised(): Float32Array {
  const p = preprocessingPreset('torch')!;
  return tf.tidy(() => (original.predict(tf.add(tf.mul(x, p.scale), p.offset)) as tf.Tensor).dataSync() as Float32Array);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('import a safetensors state dict', () => {
  test('detected as resnet18 with torch preprocessing; predictions on [0, 1] pixels equal the original on normalised ones (1e-5)', async () => {
    const { model, metadata } = await importModel(stateDict, { inputSize: [SIZE, SIZE] });
    assert.equal(metadata.model, 'resnet18');
    assert.equal(metadata.preprocessing, 'torch');
    assert.deepEqual(metadata.inputShape, [SIZE, SIZE, 3]);
    assert.equal(metadata.classNames.length, 5);
    assert.equal(model.layers[1].getClassName(), 'Preprocessing');
    const y = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    assert.ok(maxAbsDiff(y, originalOnNormalised()) < 1e-5);
    model.dispose();
  });

  test('--classes 3: same backbone weights, a new seeded 3-unit head (the same on every import)', async () => {
    const [a, b] = [await importModel(stateDict, { inputSize: [SIZE, SIZE], classes: 3 }), await importModel(stateDict, { inputSize: [SIZE, SIZE], classes: 3 })];
    const kernel = (m: tf.LayersModel, name: string) => m.getLayer(name).getWeights()[0].dataSync();
    assert.deepEqual(kernel(a.model, 'conv4_block1_2_conv'), kernel(original, 'conv4_block1_2_conv'));
    assert.deepEqual(a.model.getLayer('predictions').getWeights()[0].shape, [512, 3]);
    assert.deepEqual(kernel(a.model, 'predictions'), kernel(b.model, 'predictions'));
    assert.ok(kernel(a.model, 'predictions').some((v) => v !== 0));
    assert.equal(a.metadata.classNames.length, 3);
    a.model.dispose();
    b.model.dispose();
  });

  test('replaceHead keeps the very backbone layers and swaps in a seeded head', () => {
    const model = buildModel('resnet50', { inputShape: [64, 64, 3], classes: 6, initialWeights: 'zeros' });
    const conv = model.getLayer('res2a_branch2a');
    const replaced = replaceHead(model, 4, { seed: 2 });
    assert.equal(replaced.getLayer('res2a_branch2a'), conv);
    assert.equal(replaced.layers.at(-1)!.name, 'fc4');
    assert.deepEqual(replaced.outputs[0].shape, [null, 4]);
    const y = Array.from(tf.tidy(() => (replaced.predict(tf.zeros([1, 64, 64, 3])) as tf.Tensor).dataSync()));
    assert.ok(Math.abs(y.reduce((s, v) => s + v, 0) - 1) < 1e-5);
    replaced.dispose();
  });

  test('resnet import writes a folder that loads and that resnet predict uses', async () => {
    const out = join(dir, 'folder');
    const r = runCli('import', stateDict, '--out', out, '--input-size', String(SIZE), '--backend', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /resnet18, 32x32x3 input, 5 classes, .* preprocessing torch/);
    const { model, metadata } = await loadModelFolder(out);
    assert.equal(metadata.preprocessing, 'torch');
    assert.match(metadata.importedFrom ?? '', /resnet18\.safetensors/);
    const y = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    assert.ok(maxAbsDiff(y, originalOnNormalised()) < 1e-5);
    model.dispose();
    const image = join(dir, 'image.png');
    await sharp(Buffer.alloc(SIZE * SIZE * 3, 90), { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toFile(image);
    const p = runCli('predict', '--model', out, '--backend', 'cpu', '--json', image);
    assert.equal(p.status, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).predictions[0].top.length, 3);
  });

  test('the classic Keras ResNet-50 layout (conv1, bn_conv1, res2a_branch2a, ..., fc1000): the course model, caffe preprocessing, conv1 read as BGR', async () => {
    const course = buildModel('resnet50', { inputShape: [64, 64, 3], classes: 1000 });
    randomizeBatchNorm(course);
    const path = join(dir, 'classic.h5');
    await writeModelAsLegacyH5(path, course);
    const { model, metadata } = await importModel(path);
    assert.equal(metadata.model, 'resnet50');
    assert.equal(metadata.preprocessing, 'caffe');
    assert.deepEqual(metadata.inputShape, [64, 64, 3]);
    // What the file's weights expect: Keras's caffe mode, 0..255 BGR minus the BGR ImageNet mean.
    const input = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 9);
    const caffe = tf.tidy(() => tf.sub(tf.mul(tf.reverse(input, -1), 255), tf.tensor1d([103.939, 116.779, 123.68])));
    const [a, b] = [course.predict(caffe) as tf.Tensor, model.predict(input) as tf.Tensor];
    assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) < 1e-5, `max diff ${maxAbsDiff(a.dataSync(), b.dataSync())}`);
    tf.dispose([input, caffe, a, b]);
    course.dispose();
    model.dispose();
  });

  test('a legacy Keras .h5 of weights maps by layer name onto --model', async () => {
    const tiny = buildModel('tiny-resnet', { inputShape: [8, 8, 3], classes: 3 });
    randomizeBatchNorm(tiny);
    const path = join(dir, 'tiny.h5');
    await writeModelAsLegacyH5(path, tiny);
    const { model, metadata } = await importModel(path, { model: 'tiny-resnet', inputSize: [8, 8] });
    assert.equal(metadata.preprocessing, 'none');
    const input = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 4);
    const [a, b] = [tiny.predict(input) as tf.Tensor, model.predict(input) as tf.Tensor];
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    tf.dispose([input, a, b]);
    tiny.dispose();
    model.dispose();
  });
});

describe('hostile and unsupported files: one clear error each', () => {
  const write = (name: string, bytes: Uint8Array | string) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  /** importModel throws a UserError whose message names the file and matches `pattern`. */
  const refuses = (file: string, pattern: RegExp, options: Parameters<typeof importModel>[1] = {}) =>
    assert.rejects(importModel(file, options), (e: Error) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n'));

  test('the CLI prints one `resnet: error:` line, no stack, and writes no folder', () => {
    const pth = write('model.pth', new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00]));
    const out = join(dir, 'never');
    for (const [file, pattern] of [
      [pth, /^resnet: error: model\.pth: a pickled PyTorch file .*safetensors\.torch import save_file.*torch\.load/],
      [write('cut.safetensors', readFileSync(stateDict).subarray(0, 5000)), /^resnet: error: cut\.safetensors: .*truncated/],
    ] as const) {
      const r = runCli('import', file, '--out', out, '--backend', 'cpu');
      assert.equal(r.status, 2, r.stderr);
      assert.equal(hasStack(r.stderr), false, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trim(), pattern);
      assert.equal(existsSync(out), false);
    }
  });

  test('a pickled .pth (old and zip formats) is refused with the safetensors conversion command', async () => {
    await refuses(write('model2.pth', new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00])), /safetensors\.torch import save_file.*torch\.load/);
    await refuses(write('model2.bin', zipBytes({ 'archive/data.pkl': new Uint8Array([0x80, 0x02]), 'archive/version': new Uint8Array([0x33]) })), /pickled PyTorch/);
  });

  test('safetensors: header length beyond the file, truncated data, absurd shape', async () => {
    const bytes = new Uint8Array(readFileSync(stateDict));
    const header = bytes.slice();
    new DataView(header.buffer).setBigUint64(0, BigInt(bytes.length), true);
    await refuses(write('beyond.safetensors', header), /beyond the end/);
    await refuses(write('truncated.safetensors', bytes.subarray(0, bytes.length - 1000)), /truncated/);
    await refuses(write('absurd.safetensors', safetensorsBytes({}, { 'conv1.weight': { dtype: 'F32', shape: [2 ** 30, 2 ** 30], data_offsets: [0, 0] } })), /absurdly large/);
  });

  test('shapes that do not fit the architecture', async () => {
    const size = { inputSize: [SIZE, SIZE] as [number, number] };
    await refuses(stateDict, /does not fit the architecture 'resnet34': no weights for layer 'conv2_block3_1_conv'/, { ...size, model: 'resnet34' });
    const dict = torchvisionStateDict(original);
    dict['layer2.0.conv1.weight'] = { ...dict['layer2.0.conv1.weight'], shape: [64, 128, 3, 3] };
    await refuses(write('misfit.safetensors', safetensorsBytes(dict)), /layer 'conv3_block1_1_conv' kernel: the file has shape \[3, 3, 128, 64\], the architecture needs \[3, 3, 64, 128\]/, size);
    const extra = { ...torchvisionStateDict(original), 'layer1.0.se.fc.weight': dict['fc.weight'] };
    await refuses(write('extra.safetensors', safetensorsBytes(extra)), /unexpected key 'layer1\.0\.se\.fc\.weight'/);
  });

  test('keras .h5: truncated file, unknown architecture; a zip member named ../x; absurd declared member size; not a model file', async () => {
    const tiny = buildModel('tiny-resnet', { inputShape: [8, 8, 3], classes: 3 });
    const h5 = join(dir, 'tiny-full.h5');
    await writeModelAsLegacyH5(h5, tiny);
    tiny.dispose();
    await refuses(h5, /cannot tell which ResNet this is .*--model NAME/);
    const bytes = readFileSync(h5);
    await refuses(write('cut.h5', bytes.subarray(0, Math.floor(bytes.length / 2))), /truncated or corrupt/, { model: 'tiny-resnet' });
    await refuses(write('evil.keras', zipBytes({ 'config.json': new TextEncoder().encode('{}'), '../x': new Uint8Array([1]) })), /member '\.\.\/x' has an unsafe name/);
    const zip = zipBytes({ 'config.json': new TextEncoder().encode('{}'), 'model.weights.h5': new Uint8Array(16) });
    // The central directory's uncompressed-size field of the second member: claim 4 GB - 2.
    const view = new DataView(zip.buffer);
    let central = -1;
    for (let i = 0; i + 62 <= zip.length; i++) {
      if (view.getUint32(i, true) === 0x02014b50 && new TextDecoder().decode(zip.subarray(i + 46, i + 62)) === 'model.weights.h5') central = i;
    }
    assert.ok(central > 0);
    view.setUint32(central + 24, 0xffffffff - 1, true);
    await refuses(write('bomb.keras', zip), /declares 4294967294 bytes .*refused/);
    await refuses(write('cut.keras', zip.subarray(0, zip.length - 30)), /not a readable zip archive/);
    await refuses(write('notes.txt', 'hello'), /not a Keras .h5 \/ .keras file or a PyTorch .safetensors file/);
    await refuses(join(dir, 'missing.h5'), /no such file/);
    await refuses(stateDict, /--classes must be a positive integer/, { classes: 0 });
    await refuses(stateDict, /--classes must be a positive integer up to 100000/, { classes: 1e9 }); // refused before any allocation
  });
});
