// `exportModel` and `resnet export`: ONNX models run in onnxruntime (onnxruntime-node) with the same
// predictions as TensorFlow.js for the course model and representative family members (option-A
// CIFAR, pre-activation, plain, an imported model with its preprocessing layer), at two batch sizes;
// .keras archives read back by this project's importer; Keras's layer order reproduced. (Keras itself
// loading the archives: test/interop/frameworks.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/errors.js';
import { buildModel } from '../../src/models/registry.js';
import { preprocessingPreset } from '../../src/models/preprocessing.js';
import { modelFiles, writeFolderAtomically } from '../../src/train/checkpoint.js';
import { exportModel } from '../../src/interop/export.js';
import { importModel } from '../../src/interop/import.js';
import { kerasLayerOrder, modelGraph } from '../../src/interop/graph.js';
import { ONNX_SCHEMA } from '../../src/interop/onnx-schema.js';
import { hasStack, runCli, tempDir } from '../cli/helpers.js';
import { randomizeBatchNorm, zipBytes } from './fixtures.js';

await tf.setBackend('cpu');
/** Largest |onnxruntime - TF.js| allowed on softmax outputs (float32, different summation orders). */
const ONNX_TOLERANCE = 1e-5;

/** name, input size, classes, preprocessing: the course model and one of each kind of family member. */
export const EXPORT_CASES: [string, number, number, string][] = [
  ['resnet50', 64, 6, 'none'], // the course model
  ['resnet20', 32, 10, 'none'], // CIFAR, option-A shortcuts (the custom layer)
  ['resnet20-v2', 32, 10, 'none'], // pre-activation
  ['plain20', 32, 10, 'none'], // no shortcuts
  ['resnet18', 32, 5, 'torch'], // ImageNet stem, projections, an imported model's Preprocessing layer
];

let dir = '';
const folders = new Map<string, { path: string; x: tf.Tensor; y: Float32Array }>();

before(async () => {
  dir = tempDir('resnet-export-');
  for (const [name, size, classes, pre] of EXPORT_CASES) {
    const model = buildModel(name, { inputShape: [size, size, 3], classes, preprocessing: preprocessingPreset(pre) });
    randomizeBatchNorm(model);
    const path = join(dir, name);
    const metadata = { model: name, classNames: Array.from({ length: classes }, (_, i) => `c${i}`), inputShape: [size, size, 3] as [number, number, number], epoch: 0, preprocessing: pre };
    await writeFolderAtomically(path, await modelFiles(model, metadata));
    const x = tf.randomUniform([3, size, size, 3], 0, 1, 'float32', 7);
    folders.set(name, { path, x, y: tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array) });
    model.dispose();
  }
});
after(() => {
  for (const f of folders.values()) f.x.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('ONNX export, run by onnxruntime', () => {
  for (const [name] of EXPORT_CASES) {
    test(`${name}: same predictions as TF.js (${ONNX_TOLERANCE}), batch 3 and 1 (dynamic batch)`, async () => {
      const { path, x, y } = folders.get(name)!;
      const file = `${path}.onnx`;
      await exportModel(path, 'onnx', file);
      const session = await ort.InferenceSession.create(file);
      const [n, h, w, c] = x.shape;
      const pixels = x.dataSync() as Float32Array;
      const out = await session.run({ input: new ort.Tensor('float32', pixels, [n, h, w, c]) });
      assert.deepEqual(out.output.dims, [n, y.length / n]);
      assert.ok(maxAbsDiff(out.output.data as Float32Array, y) < ONNX_TOLERANCE, `max diff ${maxAbsDiff(out.output.data as Float32Array, y)}`);
      const one = await session.run({ input: new ort.Tensor('float32', pixels.slice(0, h * w * c), [1, h, w, c]) });
      assert.ok(maxAbsDiff(one.output.data as Float32Array, y.subarray(0, y.length / n)) < ONNX_TOLERANCE);
      await session.release();
    });
  }

  test('the file: opset 13, NHWC input with a symbolic batch axis, metadata with the class names', async () => {
    const bytes = readFileSync(`${folders.get('resnet20')!.path}.onnx`);
    const Model = protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');
    const m = Model.toObject(Model.decode(bytes), { longs: Number }) as {
      opset_import: { domain?: string; version: number }[];
      graph: { input: { name: string; type: { tensor_type: { shape: { dim: { dim_param?: string; dim_value?: number }[] } } } }[] };
      metadata_props: { key: string; value: string }[];
    };
    assert.equal(m.opset_import[0].version, 13);
    const dims = m.graph.input[0].type.tensor_type.shape.dim;
    assert.deepEqual(dims.map((d) => d.dim_param ?? d.dim_value), ['batch', 32, 32, 3]);
    assert.equal(m.metadata_props.find((p) => p.key === 'input_layout')?.value, 'NHWC');
    assert.deepEqual(JSON.parse(m.metadata_props.find((p) => p.key === 'class_names')!.value), Array.from({ length: 10 }, (_, i) => `c${i}`));
  });
});

describe('Keras export', () => {
  test('.keras archives read back by resnet import: same architecture, preprocessing and predictions', async () => {
    for (const name of ['resnet20', 'resnet18']) {
      const { path, x, y } = folders.get(name)!;
      await exportModel(path, 'keras', `${path}.keras`);
      const { model, metadata } = await importModel(`${path}.keras`);
      assert.equal(metadata.model, name);
      assert.equal(metadata.preprocessing, name === 'resnet18' ? 'torch' : 'none');
      assert.deepEqual(metadata.inputShape, x.shape.slice(1));
      const again = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      assert.ok(maxAbsDiff(again, y) < 1e-6);
      model.dispose();
    }
  });

  test("the archive: standard layers only; variables keyed in Keras's layer order (as in keras.applications.ResNet50's own file)", async () => {
    const { path } = folders.get('resnet20')!;
    const members = unzipSync(new Uint8Array(readFileSync(`${path}.keras`)));
    assert.deepEqual(Object.keys(members).sort(), ['config.json', 'metadata.json', 'model.weights.h5']);
    const config = JSON.parse(new TextDecoder().decode(members['config.json']));
    const classes = new Set(config.config.layers.map((l: { class_name: string }) => l.class_name));
    assert.ok(!classes.has('SubsampleZeroPad') && classes.has('ZeroPadding3D') && classes.has('Reshape'), [...classes].join(' '));
    // keras.applications.ResNet50(weights=None) saved by Keras 3.15 keys conv2d, conv2d_1, ... as follows.
    const keras = buildModel('keras-resnet50', { inputShape: [64, 64, 3], classes: 10, initialWeights: 'zeros' });
    const graph = modelGraph(keras);
    const convs = kerasLayerOrder(graph, 'predictions').filter((n) => graph.find((g) => g.name === n)!.className === 'Conv2D');
    assert.deepEqual([convs[0], convs[1], convs[11], convs[12], convs[13], convs[14]], [
      'conv1_conv', 'conv2_block1_1_conv', 'conv3_block1_1_conv', 'conv3_block1_2_conv', 'conv3_block1_0_conv', 'conv3_block1_3_conv',
    ]);
    keras.dispose();
  });

  test('a .keras archive whose config does not match its variables is refused', async () => {
    const { path } = folders.get('resnet20')!;
    const members = unzipSync(new Uint8Array(readFileSync(`${path}.keras`)));
    const config = new TextDecoder().decode(members['config.json']).replaceAll('"conv1_conv"', '"renamed_conv"');
    const file = join(dir, 'mismatch.keras');
    writeFileSync(file, zipBytes({ ...members, 'config.json': new TextEncoder().encode(config) }));
    await assert.rejects(importModel(file), (e: Error) => e instanceof UserError && /holds the variables of 'conv1_conv', but the config puts 'renamed_conv' there/.test(e.message));
    writeFileSync(file, zipBytes({ ...members, 'config.json': new TextEncoder().encode('{"config": ') }));
    await assert.rejects(importModel(file), (e: Error) => e instanceof UserError && /not valid JSON/.test(e.message));
  });

  test('resnet export on the command line; an unknown format is one error line', () => {
    const { path } = folders.get('plain20')!;
    const r = runCli('export', path, '--format', 'onnx', '--out', join(dir, 'cli.onnx'), '--backend', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ONNX model \(opset 13, input NHWC float32 in \[0, 1\], dynamic batch\), plain20, 10 classes/);
    const bad = runCli('export', path, '--format', 'tflite', '--out', join(dir, 'x'), '--backend', 'cpu');
    assert.equal(bad.status, 2);
    assert.equal(hasStack(bad.stderr), false);
    assert.match(bad.stderr, /^resnet: error: --format must be one of keras, onnx, got 'tflite'\n$/);
  });
});
