// Battery: hostile model folders given to `resnet predict` / `resnet evaluate` (and `--resume`). Each
// must be refused in one line before anything it declares is read or allocated: paths outside the
// folder (relative, absolute, through symbolic links), declared shapes and sizes against limits and
// the files' real sizes, layers larger than the weights, class names that do not match the outputs.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, writeImageFolder } from '../cli/helpers.js';
import { defaultOptions } from '../../src/train/options.js';
import { trainRun } from '../../src/train/run.js';
import type { Progress } from '../../src/train/progress.js';
import { loadModelFolder } from '../../src/train/checkpoint.js';
import { UserError } from '../../src/errors.js';
import { assertAllRefused, assertRefused, resnet } from './support.js';

const silent: Progress = { startEpoch() {}, step() {}, endEpoch() {}, log() {} };
let root = '';
let data = '';
let run = '';
let image = '';

type ModelJson = {
  modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  weightsManifest: { paths: unknown; weights: Record<string, unknown>[] }[];
  userDefinedMetadata: Record<string, unknown>;
};

/** A copy of the trained model folder (best/) with model.json changed by `change`. */
function variant(name: string, change: (json: ModelJson, dir: string) => void): string {
  const dir = join(root, 'variants', name);
  cpSync(join(run, 'best'), dir, { recursive: true });
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelJson;
  change(json, dir);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  return dir;
}

const layer = (json: ModelJson, className: string) => json.modelTopology.config.layers.find((l) => l.class_name === className)!;

before(async () => {
  root = tempDir('resnet-battery-model-');
  data = await writeImageFolder(join(root, 'data'), 2);
  image = join(data, 'red', '0.png');
  const r = await trainRun({ ...defaultOptions(data), model: 'tiny-resnet', epochs: 1, batchSize: 4, lr: 0.01, valSplit: 0, backend: 'cpu', out: join(root, 'run') }, { progress: silent });
  run = r.out;
});

describe('model folders: paths stay inside the folder', () => {
  test('relative paths out, absolute paths, symbolic links out, odd names: refused; a link inside is fine', async () => {
    const weights = readFileSync(join(run, 'best', 'weights.bin'));
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(join(elsewhere, 'file.bin'), weights); // the right size: only the path gives it away
    const up = variant('up', (j) => (j.weightsManifest[0].paths = ['../../elsewhere/file.bin']));
    const upDeep = variant('up-deep', (j) => (j.weightsManifest[0].paths = ['sub/../../../../elsewhere/file.bin']));
    const absolute = variant('absolute', (j) => (j.weightsManifest[0].paths = [join(elsewhere, 'file.bin')]));
    const linkOut = variant('link-out', (j, d) => {
      symlinkSync(join(elsewhere, 'file.bin'), join(d, 'linked.bin'));
      j.weightsManifest[0].paths = ['linked.bin'];
    });
    const dirLinkOut = variant('dir-link-out', (j, d) => {
      symlinkSync(elsewhere, join(d, 'shards'));
      j.weightsManifest[0].paths = ['shards/file.bin'];
    });
    const linkLoop = variant('link-loop', (j, d) => {
      symlinkSync(join(d, 'b.bin'), join(d, 'a.bin'));
      symlinkSync(join(d, 'a.bin'), join(d, 'b.bin'));
      j.weightsManifest[0].paths = ['a.bin'];
    });
    const number = variant('number', (j) => (j.weightsManifest[0].paths = [123]));
    const empty = variant('empty-path', (j) => (j.weightsManifest[0].paths = ['']));
    const nul = variant('nul', (j) => (j.weightsManifest[0].paths = ['weights.bin\u0000.txt']));
    const notList = variant('paths-not-list', (j) => (j.weightsManifest[0].paths = 'weights.bin'));
    const folderPath = variant('folder-path', (j) => (j.weightsManifest[0].paths = ['.']));
    const fifo = variant('fifo', (j, d) => {
      execFileSync('mkfifo', [join(d, 'pipe.bin')]);
      j.weightsManifest[0].paths = ['pipe.bin'];
    });
    await assertAllRefused([
      [['predict', '--model', up, '--backend', 'cpu', image], /points outside the folder/],
      [['predict', '--model', upDeep, '--backend', 'cpu', image], /points outside the folder/],
      [['predict', '--model', absolute, '--backend', 'cpu', image], /is absolute/],
      [['predict', '--model', linkOut, '--backend', 'cpu', image], /symbolic link to .*outside the folder/],
      [['evaluate', '--model', dirLinkOut, '--data', data, '--backend', 'cpu'], /symbolic link to .*outside the folder/],
      [['predict', '--model', linkLoop, '--backend', 'cpu', image], /symbolic link loop/],
      [['predict', '--model', number, '--backend', 'cpu', image], /weightsManifest path 123 is not a file name/],
      [['predict', '--model', empty, '--backend', 'cpu', image], /weightsManifest path "" is not a file name/],
      [['predict', '--model', nul, '--backend', 'cpu', image], /invalid weights file path/],
      [['predict', '--model', notList, '--backend', 'cpu', image], /damaged weightsManifest/],
      [['predict', '--model', folderPath, '--backend', 'cpu', image], /weights file is not a file/],
      [['predict', '--model', fifo, '--backend', 'cpu', image], /weights file is not a file/],
    ]);
    // A model folder reached through a link, and a weights file linked within the folder, load.
    const inside = variant('link-inside', (j, d) => {
      mkdirSync(join(d, 'shards'));
      cpSync(join(d, 'weights.bin'), join(d, 'shards', 'w.bin'));
      symlinkSync(join(d, 'shards', 'w.bin'), join(d, 'linked.bin'));
      j.weightsManifest[0].paths = ['linked.bin'];
    });
    symlinkSync(inside, join(root, 'model-link'));
    const { model } = await loadModelFolder(join(root, 'model-link'));
    model.dispose();
  });
});

describe('model folders: declared sizes are checked before anything is allocated', () => {
  test('weight specs: null, negative, fractional, huge or unknown shapes and dtypes; sizes that do not match the files', async () => {
    const spec = (name: string, change: (w: Record<string, unknown>) => void) => variant(name, (j) => change(j.weightsManifest[0].weights[0]));
    const cases: [string, RegExp][] = [
      [spec('shape-null', (w) => (w.shape = null)), /has shape null/],
      [spec('shape-missing', (w) => delete w.shape), /has shape undefined/],
      [spec('shape-negative', (w) => (w.shape = [3, 3, -3, 8])), /non-negative whole numbers/],
      [spec('shape-fraction', (w) => (w.shape = [3, 3, 1.5, 8])), /non-negative whole numbers/],
      [spec('shape-string', (w) => (w.shape = '3,3,3,8')), /expected a list/],
      [spec('shape-huge', (w) => (w.shape = [1e6, 1e6, 1e6, 8])), /larger than the 1 GiB allowed/],
      [spec('weights-over-limit', (w) => (w.shape = [300_000_000])), /the weights take more than the 1 GiB allowed/],
      [spec('shape-rank', (w) => (w.shape = new Array(40).fill(1))), /expected a list of at most 8/],
      [spec('shape-zero', (w) => (w.shape = [0, 3, 3, 8])), /weights hold \d+ bytes, model.json describes/],
      [spec('dtype-unknown', (w) => (w.dtype = 'float64')), /dtype "float64"/],
      [spec('dtype-missing', (w) => delete w.dtype), /dtype undefined/],
      [spec('quantized', (w) => (w.quantization = { dtype: 'int3' })), /unsupported quantization/],
      [spec('no-name', (w) => (w.name = 5)), /no valid name/],
      [variant('not-a-spec', (j) => (j.weightsManifest[0].weights[0] = 7 as unknown as Record<string, unknown>)), /no valid name/],
      [variant('manifest-empty-paths', (j) => (j.weightsManifest[0].paths = [])), /damaged weightsManifest/],
      [variant('manifest-object', (j) => (j.weightsManifest = {} as ModelJson['weightsManifest'])), /no modelTopology \/ weightsManifest/],
      [variant('spec-more', (j) => j.weightsManifest[0].weights.push({ name: 'extra', shape: [1000], dtype: 'float32' })), /weights hold \d+ bytes, model.json describes/],
      [variant('too-many-files', (j) => (j.weightsManifest[0].paths = new Array(20_000).fill('weights.bin'))), /more than 10000 weights files/],
    ].map(([dir, message]) => [dir as string, message as RegExp]);
    const long = variant('long-weights', (_, d) => writeFileSync(join(d, 'weights.bin'), Buffer.concat([readFileSync(join(d, 'weights.bin')), Buffer.alloc(4)])));
    const short = variant('short-weights', (_, d) => truncateSync(join(d, 'weights.bin'), 7));
    const sparse = variant('huge-weights-file', (_, d) => truncateSync(join(d, 'weights.bin'), 50 * 2 ** 30)); // 50 GiB, sparse
    cases.push([long, /weights hold \d+ bytes/], [short, /weights hold 7 bytes/], [sparse, /weights hold 53687091200 bytes/]);
    await assertAllRefused(cases.map(([dir, message]) => [['predict', '--model', dir, '--backend', 'cpu', image], message]));
  });

  test('metadata: class names and input shapes against limits; a model.json too large to read', async () => {
    const meta = (name: string, change: (m: Record<string, unknown>) => void) => variant(name, (j) => change(j.userDefinedMetadata));
    const huge = variant('model-json-huge', () => undefined);
    truncateSync(join(huge, 'model.json'), 100 * 2 ** 20); // 100 MiB (sparse): refused before reading
    await assertAllRefused([
      [meta('names-missing', (m) => delete m.classNames), /no class names \/ input shape/],
      [meta('names-many', (m) => (m.classNames = Array.from({ length: 200_001 }, (_, i) => `c${i}`))), /200001 class names \(expected 1 to 100000\)/],
      [meta('names-none', (m) => (m.classNames = [])), /0 class names/],
      [meta('names-number', (m) => (m.classNames = ['a', 2, 'c'])), /class name 1 is not a name/],
      [meta('names-duplicate', (m) => (m.classNames = ['a', 'a', 'c'])), /not all different/],
      [meta('names-long', (m) => (m.classNames = ['a', 'b', 'x'.repeat(5000)])), /class name 2 is not a name of 1 to 1024/],
      [meta('shape-huge', (m) => (m.inputShape = [20000, 20000, 3])), /input shape \[20000,20000,3\] is not/],
      [meta('shape-channels', (m) => (m.inputShape = [8, 8, 4])), /input shape \[8,8,4\]/],
      [meta('shape-null', (m) => (m.inputShape = null)), /no class names \/ input shape/],
      [meta('shape-strings', (m) => (m.inputShape = ['8', '8', '3'])), /input shape/],
      [meta('epoch', (m) => (m.epoch = -1)), /epoch in userDefinedMetadata/],
      [variant('json-null', (j) => Object.keys(j).forEach((k) => delete (j as unknown as Record<string, unknown>)[k])), /no modelTopology/],
      [huge, /is 104857600 bytes, more than the 67108864 allowed/],
    ].map(([dir, message]) => [['predict', '--model', dir as string, '--backend', 'cpu', image], message as RegExp]));
  });

  test('layers larger than the weights are refused before they are built (no gigabytes allocated)', async () => {
    const denseHuge = variant('dense-huge', (j) => (layer(j, 'Dense').config.units = 100_000_000)); // 8 x 10^8 floats = 3.2 GB
    const convHuge = variant('conv-huge', (j) => (layer(j, 'Conv2D').config.filters = 50_000_000));
    const inputHuge = variant('input-huge', (j) => (layer(j, 'InputLayer').config.batch_input_shape = [null, 100000, 100000, 3]));
    const tooMany = variant('layers-many', (j) => {
      const [first] = j.modelTopology.config.layers;
      j.modelTopology.config.layers = new Array(25_000).fill(first);
    });
    const runs = await Promise.all([
      resnet(['predict', '--model', denseHuge, '--backend', 'cpu', image]),
      resnet(['predict', '--model', convHuge, '--backend', 'cpu', image]),
      resnet(['predict', '--model', inputHuge, '--backend', 'cpu', image]),
      resnet(['predict', '--model', tooMany, '--backend', 'cpu', image]),
    ]);
    assertRefused(runs[0], /layer 'fc' describes a weight 'kernel' of shape \[8, 100000000\], which the weight files do not hold/);
    assertRefused(runs[1], /describes a weight 'kernel' of shape \[3, 3, 3, 50000000\]/);
    assertRefused(runs[2], /the model takes \[100000, 100000, 3\] inputs but its metadata says 8x8x3/);
    assertRefused(runs[3], /25000 layers, more than the 20000 allowed/);
  });

  test('class names that do not match the output units: predict and evaluate refuse', async () => {
    const four = variant('names-four', (j) => (j.userDefinedMetadata.classNames = ['blue', 'green', 'red', 'white']));
    const two = variant('names-two', (j) => (j.userDefinedMetadata.classNames = ['blue', 'green']));
    const shape = variant('input-mismatch', (j) => (j.userDefinedMetadata.inputShape = [16, 16, 3]));
    await assertAllRefused([
      [['predict', '--model', four, '--backend', 'cpu', image], /the model has 3 output units but 4 class names/],
      [['evaluate', '--model', four, '--data', data, '--backend', 'cpu'], /the model has 3 output units but 4 class names/],
      [['predict', '--model', two, '--backend', 'cpu', image], /the model has 3 output units but 2 class names/],
      [['evaluate', '--model', shape, '--data', data, '--backend', 'cpu'], /takes \[8, 8, 3\] inputs but its metadata says 16x16x3/],
    ]);
    await assert.rejects(loadModelFolder(four), (e: Error) => e instanceof UserError && /3 output units but 4 class names/.test(e.message));
  });
});

describe('checkpoints given to --resume: every file checked before it is used', () => {
  test('damaged or hostile config.json, state.json, optimizer.json and optimizer.bin', async () => {
    const copy = (name: string, change: (dir: string) => void) => {
      const dir = join(root, 'resume', name);
      cpSync(run, dir, { recursive: true });
      change(dir);
      return dir;
    };
    const edit = (file: string, change: (j: Record<string, any>) => void) => (dir: string) => {
      const j = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      change(j);
      writeFileSync(join(dir, file), JSON.stringify(j));
    };
    const config = (change: (j: Record<string, any>) => void) => edit('config.json', change);
    const state = (change: (j: Record<string, any>) => void) => edit('last/state.json', change);
    const optimizer = (change: (j: Record<string, any>) => void) => edit('last/optimizer.json', change);
    const cases: [string, RegExp][] = [
      [copy('data-number', config((j) => (j.options.data = 5))), /--data must be a path, got 5/],
      [copy('out-null', config((j) => (j.options.model = null))), /--model must be a non-empty string, got null/],
      [copy('epochs-string', config((j) => (j.options.epochs = '10'))), /--epochs must be a number, got "10"/],
      [copy('epochs-huge', config((j) => (j.options.epochs = 1e300))), /--epochs must be at most 1000000/],
      [copy('augment-bad', config((j) => (j.options.augment = { shift: 'x' }))), /--augment must be augmentation settings/],
      [copy('options-array', config((j) => (j.options = []))), /must be a number, got undefined/],
      [copy('config-null', (d) => writeFileSync(join(d, 'config.json'), 'null')), /damaged run configuration/],
      [copy('config-huge', (d) => truncateSync(join(d, 'config.json'), 100 * 2 ** 20)), /is 104857600 bytes, more than the 67108864 allowed/],
      [copy('state-epoch-huge', state((j) => (j.epoch = 1e300))), /epoch counters are not whole numbers|history does not hold one record per epoch/],
      [copy('state-best-ahead', state((j) => (j.bestEpoch = 5))), /epoch counters disagree/],
      [copy('state-history', state((j) => (j.history = 'x'))), /history does not hold one record per epoch/],
      [copy('state-record', state((j) => (j.history[0] = { epoch: 1, loss: 'nan' }))), /a history record is damaged/],
      [copy('optimizer-name', optimizer((j) => (j.name = 'lion'))), /unknown optimizer "lion"/],
      [copy('optimizer-iterations', optimizer((j) => (j.iterations = -1))), /iterations is not a whole number/],
      [copy('optimizer-shape-huge', optimizer((j) => (j.tensors[0].shape = [1e9, 1e9]))), /has shape \[1000000000,1000000000\]/],
      [copy('optimizer-shape-null', optimizer((j) => (j.tensors[0].shape = null))), /tensor 0 has no name or shape/],
      [copy('optimizer-bin-short', (d) => truncateSync(join(d, 'last', 'optimizer.bin'), 12)), /optimizer\.bin holds 12 bytes but optimizer\.json describes/],
      [copy('optimizer-bin-sparse', (d) => truncateSync(join(d, 'last', 'optimizer.bin'), 30 * 2 ** 30)), /optimizer\.bin holds 32212254720 bytes/],
      // Same total, shapes that do not fit the model's weights (TF.js pairs them by position).
      [copy('optimizer-shuffled', optimizer((j) => (j.tensors[0].shape = [...j.tensors[0].shape].reverse()))), /optimizer tensor '.*' has shape .* its weight/],
      [copy('optimizer-fewer', optimizer((j) => {
        const [first] = j.tensors.splice(0, 1);
        j.tensors[0].shape = [j.tensors[0].shape.reduce((a: number, b: number) => a * b, 1) + first.shape.reduce((a: number, b: number) => a * b, 1)];
      })), /optimizer tensors for a model of \d+ trainable weights|has shape/],
      [copy('classes-changed', (d) => {
        edit('last/model.json', (j) => (j.userDefinedMetadata.classNames = ['blue', 'green', 'violet']))(d);
      }), /does not fit the data .*classes blue, green, red/],
    ];
    await assertAllRefused(cases.map(([dir, message]) => [['train', '--resume', dir], message]));
  });
});
