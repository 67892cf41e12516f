// `resnet train`, `resnet evaluate` and `resnet predict` run as a user runs them, on 12 PNGs of 8x8
// pixels in 3 classes with 'tiny-resnet' on the cpu engine.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, cpSync, truncateSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, CLI_ENV, hasStack, inBatches, runCli, runCliAsync, tempDir, writeImageFolder } from './helpers.js';
import { writeH5 } from '../data/fixtures.js';
import { loadModelFolder, recoverFolder } from '../../src/train/checkpoint.js';
import { bf16Skip } from '../support/native.js';
import { loadImages } from '../../src/data/node.js';
import { predictProbabilities } from '../../src/train/evaluate.js';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import sharp from 'sharp';

let root = '';
let data = '';
let run = '';
const TRAIN = ['--model', 'tiny-resnet', '--batch-size', '4', '--lr', '0.01', '--val-split', '0.25', '--backend', 'cpu'];

// One trained run folder, shared by every test of this file.
before(async () => {
  root = tempDir();
  data = await writeImageFolder(join(root, 'data'));
  run = join(root, 'run');
  const r = runCli('train', '--data', data, '--epochs', '2', '--out', run, ...TRAIN);
  assert.equal(r.status, 0, r.stderr);
});

describe('resnet train -> evaluate -> predict', () => {

  test('train prints plain epoch lines when stdout is not a terminal, and writes the run folder', () => {
    const history = readFileSync(join(run, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(history.length, 2);
    assert.ok(['model.json', 'weights.bin', 'config.json', 'curves.svg', 'best', 'last'].every((f) => existsSync(join(run, f))));
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    assert.equal(config.options.batchSize, 4);
    // The default recipe's settings where no flag was given.
    assert.equal(config.options.recipe, 'strong');
    assert.equal(config.options.optimizer, 'adamw');
    assert.equal(config.options.clipNorm, 1);
  });

  test('evaluate --json: one line with accuracy, loss, classes, confusion, precision, recall; confusion.svg written', () => {
    const out = join(root, 'eval');
    const r = runCli('evaluate', '--model', run, '--data', data, '--json', '--backend', 'cpu', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const e = JSON.parse(lines[0]);
    assert.deepEqual(e.classes, ['blue', 'green', 'red']);
    assert.equal(e.images, 12);
    const total = e.confusion.flat().reduce((a: number, b: number) => a + b, 0);
    assert.equal(total, 12);
    const diagonal = e.confusion.reduce((s: number, row: number[], i: number) => s + row[i], 0);
    assert.equal(e.accuracy, diagonal / 12);
    assert.ok(e.loss > 0 && Number.isFinite(e.loss));
    assert.equal(e.precision.length, 3);
    assert.equal(e.recall.length, 3);
    assert.match(readFileSync(join(out, 'confusion.svg'), 'utf8'), /^<svg/);
  });

  test('evaluate --precision bfloat16 on the native engine agrees with float32 on cpu', { skip: bf16Skip }, () => {
    const cpu = runCli('evaluate', '--model', run, '--data', data, '--json', '--backend', 'cpu', '--out', join(root, 'eval-cpu'));
    const bf16 = runCli('evaluate', '--model', run, '--data', data, '--json', '--backend', 'native', '--precision', 'bfloat16', '--out', join(root, 'eval-bf16'));
    assert.equal(bf16.status, 0, bf16.stderr);
    const [a, b] = [JSON.parse(cpu.stdout), JSON.parse(bf16.stdout)];
    assert.equal(b.engine, 'native');
    assert.equal(b.engine_precision, 'bfloat16');
    // bf16 keeps 8 significant bits of each multiplied operand: the loss moves by well under 5%.
    assert.ok(Math.abs(b.loss - a.loss) <= 0.05 * a.loss, `loss ${b.loss} vs ${a.loss}`);
  });

  test('evaluate --precision bfloat16 where the native engine or bfloat16 is missing: refused in one line', { skip: bf16Skip ? false : 'bfloat16 runs here: nothing to refuse' }, () => {
    const bf16 = runCli('evaluate', '--model', run, '--data', data, '--json', '--backend', 'native', '--precision', 'bfloat16', '--out', join(root, 'eval-bf16'));
    assert.equal(bf16.status, 2);
    assert.match(bf16.stderr, /^resnet: error: (engine 'native' is not available on this machine: .+|precision bfloat16 is not available: .+)\n$/);
  });

  test('evaluate --json of a model whose weights are NaN: the loss is the string "NaN", not null', () => {
    const broken = join(root, 'nan-model');
    cpSync(join(run, 'model.json'), join(broken, 'model.json'));
    const size = readFileSync(join(run, 'weights.bin')).length;
    writeFileSync(join(broken, 'weights.bin'), new Uint8Array(new Float32Array(size / 4).fill(NaN).buffer));
    const r = runCli('evaluate', '--model', broken, '--data', data, '--json', '--backend', 'cpu', '--out', join(root, 'eval-nan'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"loss":"NaN"/);
    assert.equal(JSON.parse(r.stdout).loss, 'NaN');
  });

  test('evaluate prints the confusion table and writes confusion.svg next to the model', () => {
    const r = runCli('evaluate', '--model', run, '--data', data, '--backend', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /accuracy \d\.\d{4}/);
    assert.match(r.stdout, /true \\ predicted\s+blue\s+green\s+red\s+recall/);
    assert.ok(existsSync(join(run, 'confusion.svg')));
  });

  test('predict --top 2 --json: two classes per image, best first, probabilities in [0, 1]', () => {
    const images = [join(data, 'red', '0.png'), join(data, 'blue', '1.png')];
    const r = runCli('predict', '--model', run, '--top', '2', '--json', '--backend', 'cpu', ...images);
    assert.equal(r.status, 0, r.stderr);
    const { predictions } = JSON.parse(r.stdout);
    assert.deepEqual(predictions.map((p: { image: string }) => p.image), images);
    for (const p of predictions) {
      assert.equal(p.top.length, 2);
      assert.ok(p.top[0].probability >= p.top[1].probability);
      assert.ok(p.top.every((t: { probability: number; class: string }) => t.probability >= 0 && t.probability <= 1 && ['blue', 'green', 'red'].includes(t.class)));
    }
    const text = runCli('predict', '--model', run, '--backend', 'cpu', images[0]);
    assert.match(text.stdout, /red\/0\.png: \w+ \d+\.\d%, \w+ \d+\.\d%, \w+ \d+\.\d%/);
  });

  test('a run killed mid-way resumes from its last checkpoint and keeps its best one', async () => {
    const killed = join(root, 'killed');
    const child = spawn(process.execPath, [CLI, 'train', '--data', data, '--epochs', '100', '--out', killed, ...TRAIN], { stdio: 'ignore', env: CLI_ENV });
    const state = join(killed, 'last', 'state.json');
    let exited = false;
    const closed = new Promise((r) => child.on('close', () => r((exited = true))));
    const deadline = Date.now() + 60_000;
    while (!existsSync(state) && !exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await closed;
    // The kill may strike between the two renames of a checkpoint replacement: put the previous
    // version back first, as `--resume` does, before reading what the run had finished.
    for (const name of ['last', 'best']) await recoverFolder(join(killed, name));
    assert.ok(existsSync(state), 'the run wrote no checkpoint before it was killed');
    const done = JSON.parse(readFileSync(state, 'utf8')).epoch as number;
    const bestBefore = JSON.parse(readFileSync(join(killed, 'best', 'state.json'), 'utf8')).epoch as number;
    assert.ok(done >= 1 && bestBefore <= done);
    const r = runCli('train', '--resume', killed, '--epochs', String(done + 1));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`resuming .* after epoch ${done} of ${done + 1}`));
    const history = readFileSync(join(killed, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(history.map((h) => h.epoch), Array.from({ length: done + 1 }, (_, i) => i + 1));
    const last = JSON.parse(readFileSync(join(killed, 'last', 'state.json'), 'utf8'));
    const best = JSON.parse(readFileSync(join(killed, 'best', 'state.json'), 'utf8'));
    assert.equal(last.epoch, done + 1);
    assert.equal(best.epoch, last.bestEpoch);
    assert.ok(best.epoch >= bestBefore);
  });
});

// More option checks run in-process in test/train/options.test.ts; here each kind of mistake once,
// through the real command line.
describe('Ctrl-C', () => {
  test('stops at once with status 130 and says how to resume', async () => {
    const out = join(tempDir(), 'run');
    const child = spawn(process.execPath, [CLI, 'train', '--data', data, '--epochs', '1000', '--out', out, ...TRAIN], { stdio: ['ignore', 'ignore', 'pipe'], env: CLI_ENV });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let status: number | null = null;
    const closed = new Promise<void>((r) => child.on('close', (code) => r(void (status = code))));
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(out, 'last', 'state.json')) && status === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    await closed;
    assert.equal(status, 130);
    assert.equal(stderr.trim(), `resnet: interrupted; continue with: resnet train --resume ${out}`);
  });
});

describe('bad input: one line on stderr, exit != 0, no stack trace, nothing lost', () => {
  test('every kind of mistake', async () => {
    const bad = tempDir();
    const folder = await writeImageFolder(join(bad, 'data'), 2);
    mkdirSync(join(bad, 'empty'));
    cpSync(folder, join(bad, 'corrupt'), { recursive: true });
    writeFileSync(join(bad, 'corrupt', 'red', '9.png'), 'not a png');
    writeFileSync(join(bad, 'garbage.h5'), 'definitely not HDF5');
    await writeH5(join(bad, 'labels.h5'), [
      { name: 'train_set_x', data: new Uint8Array(2 * 8 * 8 * 3), shape: [2, 8, 8, 3] },
      { name: 'train_set_y', data: BigInt64Array.from([0n, 7n]), shape: [2] },
      { name: 'list_classes', data: BigInt64Array.from([0n, 1n]), shape: [2] },
    ]);
    const model = join(bad, 'model');
    cpSync(run, model, { recursive: true });
    const damaged = (name: string, harm: (dir: string) => void) => {
      const dir = join(bad, name);
      cpSync(model, dir, { recursive: true });
      harm(dir);
      return dir;
    };
    const badJson = damaged('bad-json', (d) => writeFileSync(join(d, 'model.json'), '{"modelTopology": {'));
    const noWeights = damaged('no-weights', (d) => rmSync(join(d, 'weights.bin')));
    const shortWeights = damaged('short-weights', (d) => truncateSync(join(d, 'weights.bin'), 10));
    const noCheckpoint = damaged('no-checkpoint', (d) => rmSync(join(d, 'last'), { recursive: true }));
    const modelBefore = readFileSync(join(model, 'weights.bin'));
    const cases: [string[], RegExp][] = [
      [['train', '--data', join(bad, 'missing')], /no such file or folder/],
      [['train', '--data', join(bad, 'empty')], /empty folder/],
      [['train', '--data', join(bad, 'corrupt'), ...TRAIN], /9\.png: not a readable JPEG\/PNG image/],
      [['train', '--data', join(bad, 'garbage.h5')], /not an HDF5 file/],
      [['train', '--data', join(bad, 'labels.h5')], /out of range/],
      [['train', '--epochs', '-1'], /--epochs must be a positive integer/],
      [['train', '--epochs', 'ten'], /--epochs must be a number, got 'ten'/],
      [['train', '--data', folder, '--model', 'resnet9000'], /unknown model 'resnet9000'/],
      [['train', '--data', folder, '--precision', 'half'], /--precision must be one of float32, bfloat16; got 'half'/],
      [['evaluate', '--model', model, '--data', folder, '--precision', 'half'], /--precision must be one of float32, bfloat16, int8; got 'half'/],
      [['predict', '--model', model, '--precision', 'half', join(folder, 'red', '0.png')], /--precision must be one of float32, bfloat16, int8; got 'half'/],
      [['train', '--data', folder, '--clip-norm', '-1'], /--clip-norm must be a non-negative number \(0 = off\), got '-1'/],
      [['train', '--data', folder, ...TRAIN, '--precision', 'bfloat16'], /precision bfloat16 needs the native engine/],
      [['train', '--data', folder, '--out', model, ...TRAIN], /already holds a training run/],
      [['train', '--resume', noCheckpoint], /has no checkpoint yet/],
      [['evaluate', '--model', join(bad, 'missing'), '--data', folder], /does not exist/],
      [['evaluate', '--model', badJson, '--data', folder], /not valid JSON/],
      [['evaluate', '--model', noWeights, '--data', folder], /weights file missing/],
      [['evaluate', '--model', shortWeights, '--data', folder], /weights hold 10 bytes/],
      [['predict', '--model', model, join(bad, 'missing.png')], /no such file/],
      [['predict', '--model', model, join(bad, 'corrupt', 'red', '9.png')], /not a readable JPEG\/PNG image/],
    ];
    const results = await inBatches(cases.map(([args]) => () => runCliAsync(...args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i];
      const what = args.join(' ');
      assert.notEqual(r.status, 0, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /^resnet: error: /, what);
      assert.match(r.stderr, message, what);
      assert.ok(!hasStack(r.stderr), what);
    });
    // The refused new run into an existing run folder left it untouched.
    assert.deepEqual(readFileSync(join(model, 'weights.bin')), modelBefore);
  });
});

describe('data as users bring it', () => {
  test('mixed photo sizes train with no size flag: one notice; the model records size and mode, and predict prepares photos the same way', async () => {
    const base = tempDir();
    const mixed = await writeImageFolder(join(base, 'mixed'), 4);
    // Two stray photos of other sizes and aspect ratios among the 8x8 ones.
    const wide = join(mixed, 'red', 'wide.png');
    await sharp({ create: { width: 30, height: 12, channels: 3, background: { r: 220, g: 30, b: 20 } } }).png().toFile(wide);
    await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 20, g: 30, b: 220 } } }).png().toFile(join(mixed, 'blue', 'square.png'));
    const out = join(base, 'run');
    const r = runCli('train', '--data', mixed, '--out', out, '--epochs', '1', '--resize', 'pad', ...TRAIN);
    assert.equal(r.status, 0, r.stderr);
    const notices = r.stdout.split('\n').filter((l) => l.startsWith('resizing'));
    assert.equal(notices.length, 1, r.stdout);
    assert.match(notices[0], /^resizing 2 of 14 images to 8x8, the most common size \(--resize pad; e\.g\. .*\.png is (12x30|20x20)\); --image-size chooses the size$/);
    const metadata = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).userDefinedMetadata;
    assert.deepEqual(metadata.resize, { mode: 'pad', size: [8, 8] });

    // predict letterboxes the wide photo as training did: its probabilities are the library's with 'pad'.
    const p = runCli('predict', '--model', out, '--json', '--top', '3', '--backend', 'cpu', wide);
    assert.equal(p.status, 0, p.stderr);
    const top = JSON.parse(p.stdout).predictions[0].top as { class: string; probability: number }[];
    await tf.setBackend('cpu');
    const { model } = await loadModelFolder(out);
    const padded = await loadImages([wide], [8, 8], 3, 'pad');
    const squashed = await loadImages([wide], [8, 8], 3, 'squash');
    assert.notDeepEqual(padded, squashed, 'the modes differ on this photo, so the check below can fail');
    const probs = predictProbabilities(model, padded, [1, 8, 8, 3], 1);
    model.dispose();
    for (const t of top) {
      const k = metadata.classNames.indexOf(t.class);
      assert.ok(Math.abs(probs[k] - t.probability) < 1e-5, `${t.class}: ${t.probability} vs ${probs[k]}`);
    }
  });

  test('--recipe course trains with the first build\'s settings; an unknown recipe is one error line', () => {
    const out = join(tempDir(), 'course');
    const r = runCli('train', '--data', data, '--recipe', 'course', '--out', out, '--epochs', '1', ...TRAIN);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /with the course recipe/);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.equal(config.options.optimizer, 'adam');
    assert.equal(config.options.augment, null);
    assert.equal(config.options.schedule, 'constant');
    const bad = runCli('train', '--data', data, '--recipe', 'turbo');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^resnet: error: --recipe must be one of course, strong.*got 'turbo'\n$/);
  });
});
