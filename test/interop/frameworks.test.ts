// Round trips against the real frameworks (Python, set up by bench/setup-reference.sh):
//   - keras.applications ResNet50 and ResNet50V2 saved by Keras as .keras, legacy .h5 and weights-only
//     .h5 -> resnet import: predictions within 1e-4 of Keras's on the same images;
//   - torchvision resnet18 and resnet50 state dicts as .safetensors -> import: within 1e-4 of PyTorch
//     in eval mode;
//   - this project's models (the course model, option-A CIFAR, v2, plain, an imported one with its
//     preprocessing) -> .keras -> keras.saving.load_model (safe mode) and -> ONNX -> onnx.checker +
//     Python onnxruntime: the same predictions (1e-5).
// Where Python cannot be set up, the tests skip with the reason; with RESNET_REQUIRE_PYTHON=1 (set by
// .ci/run) they fail instead. Inputs are small (64x64 or 32x32, 3 images) to keep this to minutes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel } from '../../src/models/registry.js';
import { preprocessingPreset } from '../../src/models/preprocessing.js';
import { modelFiles, writeFolderAtomically } from '../../src/train/checkpoint.js';
import { exportModel } from '../../src/interop/export.js';
import { importModel } from '../../src/interop/import.js';
import { tempDir } from '../cli/helpers.js';
import { randomizeBatchNorm } from './fixtures.js';

await tf.setBackend('cpu');
const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const SCRIPT = join(ROOT, 'test/interop/reference.py');
/** Largest |ours - theirs| on softmax outputs: the bar for imports, and for exports. */
const IMPORT_TOLERANCE = 1e-4;
const EXPORT_TOLERANCE = 1e-5;
const SIZE = 64;
const IMAGES = 3;
const CLASSES = 10;
const REQUIRED = process.env.RESNET_REQUIRE_PYTHON === '1';

/** The interpreter at `envVar` or `fallback` if it imports `modules`, else why not. */
function python(envVar: string, fallback: string, modules: string[]): { path: string } | { missing: string } {
  const path = process.env[envVar] ?? join(ROOT, fallback);
  if (!existsSync(path)) return { missing: `${path} not found (run bench/setup-reference.sh, or set ${envVar})` };
  const check = `import importlib.util, sys; missing = [m for m in ${JSON.stringify(modules)} if importlib.util.find_spec(m) is None]; sys.exit(', '.join(missing) or 0)`;
  const r = spawnSync(path, ['-c', check], { encoding: 'utf8' });
  return r.status === 0 ? { path } : { missing: `${path} lacks ${r.stderr.trim() || 'a module'} (run bench/setup-reference.sh)` };
}

const keras = python('RESNET_PYTHON', '.venv-reference/bin/python', ['keras', 'tensorflow', 'onnx', 'onnxruntime', 'h5py']);
const torch = python('RESNET_TORCHVISION_PYTHON', '.venv-torchvision/bin/python', ['torch', 'torchvision', 'safetensors']);

/** `test`, unless the interpreter is missing: then a skip with the reason, or with RESNET_REQUIRE_PYTHON=1 a failure. */
function pythonTest(py: { path: string } | { missing: string }, name: string, fn: () => Promise<void>): void {
  if ('path' in py) test(name, fn);
  else if (REQUIRED) test(name, () => assert.fail(`RESNET_REQUIRE_PYTHON=1 but ${py.missing}`));
  else test(name, { skip: py.missing }, () => {});
}

function runJobs(py: { path: string } | { missing: string }, jobs: object[], dir: string): void {
  if (!('path' in py)) return;
  const file = join(dir, `jobs-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(jobs));
  const r = spawnSync(py.path, [SCRIPT, file], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `${SCRIPT} failed (${r.status} ${r.signal ?? ''}):\n${r.stderr.slice(-3000)}`);
}

function floats(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Imports `file` at SIZE x SIZE and returns its predictions on the images in `x`. */
async function importedPredictions(file: string, x: string, expect: { model: string; preprocessing: string }): Promise<Float32Array> {
  const { model, metadata } = await importModel(file, { inputSize: [SIZE, SIZE] });
  assert.equal(metadata.model, expect.model);
  assert.equal(metadata.preprocessing, expect.preprocessing);
  const y = tf.tidy(() => (model.predict(tf.tensor(floats(x), [IMAGES, SIZE, SIZE, 3])) as tf.Tensor).dataSync() as Float32Array);
  model.dispose();
  return y;
}

let dir = '';
before(() => {
  dir = tempDir('resnet-frameworks-');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Keras files -> import (keras.applications, random weights)', () => {
  let made = false;
  const make = () => {
    if (!made) runJobs(keras, [{ kind: 'keras-files', out: dir, size: SIZE, classes: CLASSES, images: IMAGES }], dir);
    made = true;
  };
  for (const [name, model, preprocessing] of [['resnet50', 'keras-resnet50', 'caffe'], ['resnet50v2', 'keras-resnet50v2', 'tf']]) {
    for (const suffix of ['.keras', '.h5', '-weights.h5']) {
      pythonTest(keras, `${name}${suffix} -> ${model}: predictions within ${IMPORT_TOLERANCE} of Keras's`, async () => {
        make();
        const y = await importedPredictions(join(dir, `${name}${suffix}`), join(dir, 'keras-x.bin'), { model, preprocessing });
        const diff = maxAbsDiff(y, floats(join(dir, `${name}-p.bin`)));
        assert.ok(diff < IMPORT_TOLERANCE, `max |ours - Keras| = ${diff}`);
      });
    }
  }
});

describe('torchvision state dicts -> import (safetensors, random weights)', () => {
  let made = false;
  for (const [name, model] of [['resnet18', 'resnet18'], ['resnet50', 'resnet50-imagenet']]) {
    pythonTest(torch, `${name}.safetensors -> ${model}: predictions within ${IMPORT_TOLERANCE} of PyTorch's (eval mode)`, async () => {
      if (!made) runJobs(torch, [{ kind: 'torchvision', out: dir, size: SIZE, classes: CLASSES, images: IMAGES }], dir);
      made = true;
      const y = await importedPredictions(join(dir, `${name}.safetensors`), join(dir, 'torch-x.bin'), { model, preprocessing: 'torch' });
      const diff = maxAbsDiff(y, floats(join(dir, `${name}-p.bin`)));
      assert.ok(diff < IMPORT_TOLERANCE, `max |ours - PyTorch| = ${diff}`);
    });
  }
});

describe('export -> Keras (load_model, safe mode) and -> ONNX (onnx.checker + onnxruntime)', () => {
  /** name, input size, classes, preprocessing: the course model and one of each kind of family member. */
  const cases: [string, number, number, string][] = [
    ['resnet50', 64, 6, 'none'],
    ['resnet20', 32, 10, 'none'],
    ['resnet20-v2', 32, 10, 'none'],
    ['plain20', 32, 10, 'none'],
    ['resnet18', 32, 5, 'torch'],
  ];
  const expected = new Map<string, Float32Array>();
  let ran = false;
  const runAll = async () => {
    if (ran) return;
    ran = true;
    const jobs: object[] = [];
    for (const [name, size, classes, pre] of cases) {
      const model = buildModel(name, { inputShape: [size, size, 3], classes, preprocessing: preprocessingPreset(pre) });
      randomizeBatchNorm(model);
      const folder = join(dir, `export-${name}`);
      await writeFolderAtomically(folder, await modelFiles(model, { model: name, classNames: Array.from({ length: classes }, (_, i) => String(i)), inputShape: [size, size, 3], epoch: 0, preprocessing: pre }));
      const x = tf.randomUniform([IMAGES, size, size, 3], 0, 1, 'float32', 5);
      writeFileSync(`${folder}-x.bin`, x.dataSync() as Float32Array);
      expected.set(name, tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array));
      x.dispose();
      model.dispose();
      const shape = [IMAGES, size, size, 3];
      for (const format of ['keras', 'onnx']) {
        await exportModel(folder, format, `${folder}.${format}`);
        jobs.push({ kind: format === 'keras' ? 'keras-load' : 'onnx-run', file: `${folder}.${format}`, x: `${folder}-x.bin`, shape, out: `${folder}-${format}.bin` });
      }
    }
    runJobs(keras, jobs, dir);
  };
  for (const [name] of cases) {
    for (const format of ['keras', 'onnx']) {
      const what = format === 'keras' ? "Keras's predict" : "onnxruntime's";
      pythonTest(keras, `${name} -> .${format}: ${what} within ${EXPORT_TOLERANCE} of TF.js`, async () => {
        await runAll();
        const diff = maxAbsDiff(floats(join(dir, `export-${name}-${format}.bin`)), expected.get(name)!);
        assert.ok(diff < EXPORT_TOLERANCE, `max |theirs - ours| = ${diff}`);
      });
    }
  }
});
