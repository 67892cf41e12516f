// Battery: every command with absurd, malformed or missing flags. Each answer is one line
// `resnet: error: ...` with exit 2 (commander's own mistakes included), never a stack trace, a hang
// or an allocation of what an absurd size would need.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir, writeImageFolder } from '../cli/helpers.js';
import { defaultOptions } from '../../src/train/options.js';
import { trainRun } from '../../src/train/run.js';
import type { Progress } from '../../src/train/progress.js';
import { assertAllRefused, resnet } from './support.js';

const silent: Progress = { startEpoch() {}, step() {}, endEpoch() {}, log() {} };
let root = '';
let data = '';
let model = '';
let image = '';

before(async () => {
  root = tempDir('resnet-battery-cli-');
  data = await writeImageFolder(join(root, 'data'), 2);
  image = join(data, 'red', '0.png');
  model = (await trainRun({ ...defaultOptions(data), model: 'tiny-resnet', epochs: 1, batchSize: 4, valSplit: 0, backend: 'cpu', out: join(root, 'run') }, { progress: silent })).out;
});

describe('bad flags, every command', () => {
  test('train', async () => {
    const t = (...flags: string[]) => ['train', '--data', data, '--model', 'tiny-resnet', '--backend', 'cpu', '--out', join(root, 'never'), ...flags];
    await assertAllRefused([
      [t('--epochs', '0'), /--epochs must be a positive integer, got '0'/],
      [t('--epochs', '1.5'), /--epochs must be a positive integer/],
      [t('--epochs', ''), /--epochs must be a number, got ''/],
      [t('--epochs', '1e400'), /--epochs must be a number, got '1e400'/],
      [t('--batch-size', '-4'), /--batch-size must be a positive integer/],
      [t('--lr', '0'), /--lr must be a positive number/],
      [t('--lr', 'NaN'), /--lr must be a number, got 'NaN'/],
      [t('--lr', 'Infinity'), /--lr must be a number, got 'Infinity'/],
      [t('--optimizer', 'rmsprop'), /--optimizer must be one of adam, sgd, adamw/],
      [t('--momentum', '1'), /--momentum must be in \[0, 1\)/],
      [t('--weight-decay', '-1'), /--weight-decay must be >= 0/],
      [t('--schedule', 'triangle'), /--schedule must be one of/],
      [t('--warmup-epochs', '99'), /--warmup-epochs must be in \[0, epochs=\d+\]/],
      [t('--label-smoothing', '1'), /--label-smoothing must be in \[0, 1\)/],
      [t('--clip-norm', '-1'), /--clip-norm must be a non-negative number/],
      [t('--early-stopping', '2.5'), /--early-stopping must be a non-negative integer/],
      [t('--augment', 'shift=-1'), /--augment shift must be a non-negative number/],
      [t('--augment', 'blur=1'), /--augment: unknown setting 'blur'/],
      [t('--val-split', '1'), /--val-split must be in \[0, 1\)/],
      [t('--seed', '-1'), /--seed must be a non-negative integer/],
      [t('--limit', '0'), /--limit must be a positive integer/],
      [t('--image-size', '20000'), /--image-size must be a whole number of pixels from 1 to 2048/],
      [t('--bn-recalibration', '-1'), /--bn-recalibration must be a non-negative integer/],
      [t('--backend', 'gpu'), /--backend must be one of/],
      [t('--precision', 'half'), /--precision must be one of float32, bfloat16/],
      [t('--model', 'resnet9000'), /unknown model 'resnet9000'/],
      [t('--frobnicate'), /unknown option '--frobnicate'/],
      [t('--epochs'), /option '--epochs <n>' argument missing/],
      [['train', '--data', ''], /--data must be a path, got ""/],
      [['train', '--data', data, '--out', ''], /--out must be a path, got ""/],
      [['train', '--data', data, '--out', '   '], /--out must be a path/],
      [['train', '--resume', ''], /--resume must be a path/],
      [['train', '--resume', join(root, 'missing')], /--resume: folder '.*missing' does not exist/],
      [['train', '--resume', data], /is not a training run folder \(no config\.json\)/],
      [['train', '--resume', model, '--lr', '0.1'], /only --epochs, --backend, --precision(, [-a-z]+)* and --data-workers may be given/],
      [['train', '--resume', model, '--epochs', 'x'], /--epochs must be a number/],
      [['train', '--data', image, '--model', 'tiny-resnet'], /unsupported data file extension '\.png'/],
      [['train', '--data', data, '--out', image, '--model', 'tiny-resnet', '--backend', 'cpu'], /cannot create the output folder .*0\.png: (already exists|a part of the path is not a folder)/],
      [['train', '--data', data, '--out', join(image, 'sub'), '--model', 'tiny-resnet', '--backend', 'cpu'], /cannot create the output folder .*: a part of the path is not a folder \(ENOTDIR\)/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ]);
  });

  test('evaluate and predict', async () => {
    await assertAllRefused([
      [['evaluate', '--data', data], /required option '--model <dir>' not specified/],
      [['evaluate', '--model', '', '--data', data], /--model must be a path/],
      [['evaluate', '--model', model, '--data', ''], /--data must be a path/],
      [['evaluate', '--model', model, '--data', data, '--out', ''], /--out must be a path/],
      [['evaluate', '--model', model, '--data', data, '--batch-size', '0'], /--batch-size must be a positive integer/],
      [['evaluate', '--model', model, '--data', data, '--limit', 'many'], /--limit must be a positive integer/],
      [['evaluate', '--model', model, '--data', data, '--backend', 'tpu'], /--backend must be one of/],
      [['evaluate', '--model', model, '--data', data, '--out', join(image, 'x')], /cannot create the output folder .*not a folder \(ENOTDIR\)/],
      [['evaluate', '--model', data, '--data', data], /holds no model\.json/],
      [['evaluate', '--model', image, '--data', data], /holds no model\.json/],
      [['predict', '--model', model], /missing required argument 'images'/],
      [['predict', '--model', model, '--top', '0', image], /--top must be a positive integer/],
      [['predict', '--model', model, '--top', '3.5', image], /--top must be a positive integer/],
      [['predict', '--model', model, ''], /--image must be a path/],
      [['predict', '--model', model, data], /unsupported image file extension/],
      [['predict', '--model', model, join(root, 'notes.txt')], /unsupported image file extension '\.txt'/],
      [['predict', '--model', join(root, 'missing'), image], /does not exist/],
      [['predict', image], /required option '--model <dir>' not specified/],
    ]);
  });

  test('summary, bench, gradients, models, engines: absurd sizes refused before they are allocated', async () => {
    await assertAllRefused([
      [['summary', '--model', 'nosuch'], /unknown model 'nosuch'/],
      [['summary', '--input', '0'], /--input must be H,W,C/],
      [['summary', '--input', '20000'], /--input must be H,W,C .* from 1 to 2048, got '20000'/],
      [['summary', '--input', 'a,b,c'], /--input must be H,W,C/],
      [['summary', '--input', '64,64'], /--input must be H,W,C/],
      [['summary', '--classes', '1000000000'], /--classes must be at most 100000, got '1000000000'/],
      [['summary', '--classes', '0'], /--classes must be a positive integer/],
      [['bench', '--classes', '1e9'], /--classes must be at most 100000/],
      [['bench', '--steps', '0'], /--steps must be a positive integer/],
      [['bench', '--warmup', '-1'], /--warmup must be a non-negative integer/],
      [['bench', '--batch-size', ''], /--batch-size must be a positive integer/],
      [['bench', '--backend', 'gpu'], /--backend must be one of/],
      [['bench', '--precision', 'int4'], /--precision must be one of/],
      [['bench', '--model', 'nosuch', '--backend', 'cpu'], /unknown model 'nosuch'/],
      [['bench', '--model', 'resnet50', '--input', '2048', '--batch-size', '64', '--backend', 'cpu'], /resnet50 on batches of 64 images of 2048x2048x3 needs .* of memory, more than 75% of the/],
      [['bench', '--model', 'resnet20', '--input', '32', '--batch-size', '10000000', '--backend', 'cpu'], /needs .* of memory/],
      [['gradients', '--depth', '7'], /--depth: 7 is not 6n\+2/],
      [['gradients', '--depth', '6000002'], /--depth must be at most 1202/],
      [['gradients', '--bn', 'maybe'], /--bn: 'maybe' is not one of on, off/],
      [['gradients', '--init', 'zeros'], /--init: 'zeros' is not one of glorot, he/],
      [['gradients', '--lr', '0'], /--lr must be a number in/],
      [['gradients', '--momentum', '1'], /--momentum must be a number in/],
      [['gradients', '--steps', '0'], /--steps must be a positive integer/],
      [['gradients', '--seed', 'x'], /--seed must be a non-negative integer/],
      [['gradients', '--out', ''], /--out must be a path/],
      [['gradients', '--data', join(root, 'missing'), '--depth', '8', '--steps', '1', '--backend', 'cpu'], /no such file or folder/],
      [['models', '--frob'], /unknown option '--frob'/],
      [['engines', 'extra'], /too many arguments/],
    ]);
  });

  test('--help and --version still exit 0 with their text', async () => {
    const [help, trainHelp] = await Promise.all([resnet(['--help']), resnet(['train', '--help'])]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: resnet/);
    assert.equal(trainHelp.status, 0);
    assert.match(trainHelp.stdout, /--image-size <pixels>/);
  });
});
