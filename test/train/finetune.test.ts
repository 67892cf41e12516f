// Fine-tuning through the library (trainRun with init / freeze / unfreezeAfter) on tiny PNGs with
// 'tiny-resnet' on the cpu engine: the head-only phase leaves every backbone weight and batch-norm
// statistic bit-identical to the loaded model, the second phase trains the backbone at the lower rate
// with the batch-norm layers still frozen, a run cut at the phase boundary and resumed ends exactly
// like an uninterrupted one, and the loaded model's metadata carries over.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../../src/tf.js';
import { UserError } from '../../src/errors.js';
import { defaultOptions, validateOptions, type TrainOptions } from '../../src/train/options.js';
import { phasesOf } from '../../src/train/finetune.js';
import type { Progress } from '../../src/train/progress.js';
import { resumeRun, trainRun } from '../../src/train/run.js';
import { FIXTURE_CLASSES, tempDir, writeImageFolder } from '../cli/helpers.js';

const silent: Progress = { startEpoch() {}, step() {}, endEpoch() {}, log() {} };
let root = '';
let data3 = '';
let data2 = '';
let pretrained = '';

function options(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return { ...defaultOptions(data2, 'course'), model: 'tiny-resnet', epochs: 2, batchSize: 4, lr: 0.01, valSplit: 0, backend: 'cpu', out: join(root, out), ...over };
}

/** A model folder's weights by name (model.json's manifest over weights.bin). */
function weightsOf(dir: string): Map<string, Float32Array> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
  const bytes = readFileSync(join(dir, 'weights.bin'));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of json.weightsManifest[0].weights) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    out.set(spec.name, all.slice(offset, offset + size));
    offset += size;
  }
  return out;
}

/** Names of the weights present in both folders whose values differ in any bit. */
function differing(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  return [...a.keys()].filter((k) => b.has(k) && a.get(k)!.some((v, i) => !Object.is(v, b.get(k)![i])));
}

const isStatistic = (name: string) => /moving_(mean|variance)$/.test(name);
const isBatchNormWeight = (name: string) => /_bn(_[ab])?\/(gamma|beta|moving_mean|moving_variance)$/.test(name);
const historyOf = (dir: string) => readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const withoutTimes = (h: Record<string, unknown>[]) => h.map(({ seconds: _, elapsed: __, eval_seconds: ___, ...rest }) => rest);

describe('fine-tuning runs', () => {
  before(async () => {
    root = tempDir('resnet-finetune-');
    data3 = await writeImageFolder(join(root, 'data3'), 4);
    // Two of the three classes: a new head is needed.
    data2 = join(root, 'data2');
    for (const name of FIXTURE_CLASSES.filter((c) => c !== 'green')) cpSync(join(data3, name), join(data2, name), { recursive: true });
    const r = await trainRun({ ...options('pre'), data: data3, epochs: 2 }, { progress: silent });
    pretrained = r.out;
    // A field the run does not write itself (as an importer's preprocessing note): it must carry over.
    const modelJson = JSON.parse(readFileSync(join(pretrained, 'model.json'), 'utf8'));
    modelJson.userDefinedMetadata.preprocessing = 'test-marker';
    writeFileSync(join(pretrained, 'model.json'), JSON.stringify(modelJson));
  });

  test('head-only phase: backbone and statistics bit-identical; second phase: backbone trains, batch norm stays frozen', async () => {
    const lines: string[] = [];
    const counts: number[] = [];
    const progress: Progress = { ...silent, log: (l) => lines.push(l), endEpoch: () => counts.push(tf.memory().numTensors) };
    const o = options('two-phase', { init: pretrained, freeze: 'backbone', unfreezeAfter: 1, unfreezeLr: 0.002, epochs: 3 });
    const cut = await trainRun(o, { progress, stopAfterEpochs: 1 });
    assert.equal(cut.ended, 'interrupted');
    assert.ok(lines.some((l) => /^new head 'fc' for the data's 2 classes \(blue, red\), Glorot-uniform seed 1, replaces 'fc' \(3 classes: blue, green, red\)$/.test(l)), lines.join('\n'));
    const loaded = weightsOf(pretrained);
    const afterPhase1 = weightsOf(join(cut.out, 'last'));
    assert.deepEqual([...afterPhase1.keys()].filter((k) => !loaded.has(k) || loaded.get(k)!.length !== afterPhase1.get(k)!.length), ['fc/kernel', 'fc/bias']);
    assert.deepEqual(differing(loaded, afterPhase1).filter((k) => !k.startsWith('fc/')), []);

    await resumeRun(cut.out, {}, { progress });
    const final = weightsOf(join(cut.out, 'last'));
    const moved = differing(loaded, final);
    assert.ok(moved.includes('stem_conv/kernel') && moved.includes('block_conv_b/kernel'), moved.join(', '));
    assert.deepEqual(moved.filter(isBatchNormWeight), [], 'batch norm stays frozen in the second phase by default');
    assert.deepEqual(historyOf(cut.out).map((h) => h.lr), [0.01, 0.002, 0.002]);
    assert.equal(counts[1], counts[2], 'tensors flat across the second phase');
    assert.ok(lines.some((l) => l === 'epochs 2-3: every layer but batch norm trains (fresh optimizer), peak lr 0.002'), lines.join('\n'));

    // The same run without the cut: the same history and weights, bit for bit (cpu engine).
    const full = await trainRun(options('two-phase-full', { init: pretrained, freeze: 'backbone', unfreezeAfter: 1, unfreezeLr: 0.002, epochs: 3 }), { progress: silent });
    assert.deepEqual(withoutTimes(historyOf(full.out)), withoutTimes(historyOf(cut.out)));
    assert.deepEqual(readFileSync(join(full.out, 'last', 'weights.bin')), readFileSync(join(cut.out, 'last', 'weights.bin')));

    // The loaded model's metadata carries over; the class names and shape are the new data's.
    const metadata = JSON.parse(readFileSync(join(full.out, 'model.json'), 'utf8')).userDefinedMetadata;
    assert.equal(metadata.preprocessing, 'test-marker');
    assert.deepEqual(metadata.classNames, ['blue', 'red']);
    assert.equal(metadata.model, 'tiny-resnet');
  });

  test('--unfreeze-batch-norm: the second phase updates the statistics (precise BN included)', async () => {
    const r = await trainRun(options('bn', { init: pretrained, freeze: 'backbone', unfreezeAfter: 1, unfreezeBatchNorm: true }), { progress: silent });
    const moved = differing(weightsOf(pretrained), weightsOf(join(r.out, 'last')));
    assert.ok(moved.filter(isStatistic).length === 6 && moved.includes('stem_bn/gamma'), moved.join(', '));
  });

  test('same classes: the head is kept; without --freeze every layer trains from the loaded weights', async () => {
    const lines: string[] = [];
    const r = await trainRun(options('same', { data: data3, init: pretrained, epochs: 1 }), { progress: { ...silent, log: (l) => lines.push(l) } });
    assert.ok(!lines.some((l) => l.startsWith('new head')), lines.join('\n'));
    const moved = differing(weightsOf(pretrained), weightsOf(join(r.out, 'last')));
    assert.ok(moved.includes('fc/kernel') && moved.includes('stem_conv/kernel') && moved.includes('stem_bn/moving_mean'), moved.join(', '));
  });

  test('another image size: the weights are rebuilt onto the new input', async () => {
    const lines: string[] = [];
    const r = await trainRun(options('size', { data: data3, init: pretrained, epochs: 1, imageSize: 12, freeze: 'backbone' }), { progress: { ...silent, log: (l) => lines.push(l) } });
    assert.ok(lines.includes('input 8x8 -> 12x12 (the same layers and weights on the new size)'), lines.join('\n'));
    const after = weightsOf(join(r.out, 'last'));
    assert.deepEqual(differing(weightsOf(pretrained), after).filter((k) => !k.startsWith('fc/')), []);
    assert.deepEqual(JSON.parse(readFileSync(join(r.out, 'model.json'), 'utf8')).userDefinedMetadata.inputShape, [12, 12, 3]);
  });

  test('bad fine-tuning options and --init paths give one UserError each', async () => {
    const bad = (over: Partial<TrainOptions>, pattern: RegExp) =>
      assert.throws(() => validateOptions(options('x', over)), (e: Error) => e instanceof UserError && pattern.test(e.message));
    bad({ unfreezeAfter: 1 }, /--unfreeze-after needs --freeze backbone/);
    bad({ freeze: 'backbone', unfreezeAfter: 2 }, /--unfreeze-after must be an integer in \[1, epochs-1=1\]/);
    bad({ freeze: 'everything' as never }, /--freeze must be one of none, backbone/);
    bad({ freeze: 'backbone', unfreezeLr: 0.1 }, /--unfreeze-lr needs --unfreeze-after/);
    bad({ freeze: 'backbone', unfreezeAfter: 1, unfreezeLr: -1 }, /--unfreeze-lr must be a positive number/);
    bad({ freeze: 'backbone', epochs: 4, unfreezeAfter: 1, warmupEpochs: 2 }, /must not exceed --unfreeze-after/);
    await assert.rejects(trainRun(options('missing', { init: join(root, 'nothing') }), { progress: silent }), /--init: '.*nothing' does not exist/);
    mkdirSync(join(root, 'empty'));
    await assert.rejects(trainRun(options('empty', { init: join(root, 'empty') }), { progress: silent }), /holds no model\.json/);
    writeFileSync(join(root, 'weights.h5'), 'not really');
    await assert.rejects(trainRun(options('file', { init: join(root, 'weights.h5') }), { progress: silent }), (e: Error) => e instanceof UserError);
  });
});

test('phasesOf: the second phase restarts the schedule over the remaining epochs at the lower rate', () => {
  const o = { ...defaultOptions('x', 'course'), epochs: 10, lr: 1e-3, schedule: 'cosine' as const, warmupEpochs: 1, earlyStopping: 3, freeze: 'backbone' as const, unfreezeAfter: 4 };
  const [head, all] = phasesOf(o);
  assert.deepEqual([head.trainability, head.until, head.options.epochs, head.options.lr, head.options.earlyStopping], ['head', 4, 4, 1e-3, 0]);
  assert.deepEqual([all.trainability, all.until, all.options.epochs, all.options.lr, all.options.warmupEpochs, all.options.earlyStopping], ['all-but-batch-norm', 10, 10, 1e-4, 4, 3]);
  assert.deepEqual(phasesOf({ ...o, unfreezeAfter: undefined }).map((p) => [p.trainability, p.until]), [['head', 10]]);
  assert.deepEqual(phasesOf({ ...o, freeze: undefined, unfreezeAfter: undefined }).map((p) => [p.trainability, p.until]), [['all', 10]]);
});
