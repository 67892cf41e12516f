// `resnet train --init DIR --freeze backbone --unfreeze-after E`: the real CLI, on tiny PNGs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hasStack, runCli, tempDir, writeImageFolder } from './helpers.js';

test('resnet train --init: new head announced in one line, two phases, a run folder; bad combinations exit 2 with one line', async () => {
  const root = tempDir('resnet-cli-finetune-');
  const data = await writeImageFolder(join(root, 'data'), 3);
  const common = ['--data', data, '--batch-size', '4', '--backend', 'cpu', '--val-split', '0'];
  const pre = runCli('train', ...common, '--model', 'tiny-resnet', '--epochs', '1', '--out', join(root, 'pre'), '--limit', '6');
  assert.equal(pre.status, 0, pre.stderr);
  // --limit 6 kept 2 images of each class: the same 3 classes, so the head stays; --image-size 10 rebuilds the input.
  const ft = runCli('train', ...common, '--init', join(root, 'pre'), '--freeze', 'backbone', '--unfreeze-after', '1', '--epochs', '2', '--image-size', '10', '--out', join(root, 'ft'));
  assert.equal(ft.status, 0, ft.stderr);
  assert.match(ft.stdout, /^starting from the weights of .*pre$/m);
  assert.match(ft.stdout, /^input 8x8 -> 10x10 /m);
  assert.match(ft.stdout, /^epochs 1-1: only the head trains .*, peak lr 0\.001$/m);
  assert.match(ft.stdout, /^epochs 2-2: every layer but batch norm trains \(fresh optimizer\), peak lr 0\.0001$/m);
  assert.match(ft.stdout, /^epoch 2\/2 /m);
  assert.ok(existsSync(join(root, 'ft', 'model.json')));
  for (const [args, pattern] of [
    [['--init', join(root, 'pre'), '--model', 'resnet20'], /--init and --model exclude each other/],
    [['--unfreeze-after', '1', '--epochs', '2'], /--unfreeze-after needs --freeze backbone/],
  ] as const) {
    const r = runCli('train', ...common, ...args, '--out', join(root, 'bad'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!hasStack(r.stderr));
  }
});
