// `resnet explain` as a user runs it: a tiny model trained on 8x8 PNGs explains two images (one a
// 40x24 photo-sized copy) into PNG overlays of the original size; the class shown is predict's top-1;
// mistakes give one error line and exit 2.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { fixturePixels, hasStack, runCli, tempDir, writeImageFolder } from './helpers.js';

let root = '';
let run = '';
let images: string[] = [];

before(async () => {
  root = tempDir('resnet-explain-');
  const data = await writeImageFolder(join(root, 'data'));
  run = join(root, 'run');
  const r = runCli('train', '--data', data, '--epochs', '1', '--out', run, '--model', 'tiny-resnet', '--batch-size', '4', '--backend', 'cpu');
  assert.equal(r.status, 0, r.stderr);
  const large = join(root, 'large.png');
  await sharp(fixturePixels('red', 1), { raw: { width: 8, height: 8, channels: 3 } }).resize(40, 24, { fit: 'fill' }).png().toFile(large);
  images = [join(data, 'green', '0.png'), large];
});

test('explain writes one overlay per image, at the image size, for the class predict ranks first', async () => {
  const out = join(root, 'explained');
  const r = runCli('explain', '--model', run, '--out', out, '--json', '--backend', 'cpu', ...images);
  assert.equal(r.status, 0, r.stderr);
  const { explanations } = JSON.parse(r.stdout) as { explanations: { image: string; class: string; probability: number; overlay: string; layer: string }[] };
  const predicted = JSON.parse(runCli('predict', '--model', run, '--json', '--top', '1', '--backend', 'cpu', ...images).stdout) as {
    predictions: { top: { class: string; probability: number }[] }[];
  };
  assert.equal(explanations.length, 2);
  for (const [i, e] of explanations.entries()) {
    assert.equal(e.class, predicted.predictions[i].top[0].class);
    assert.ok(Math.abs(e.probability - predicted.predictions[i].top[0].probability) < 1e-5);
    assert.ok(existsSync(e.overlay), e.overlay);
    const meta = await sharp(e.overlay).metadata();
    assert.equal(meta.format, 'png');
    assert.deepEqual([meta.width, meta.height], i === 0 ? [8, 8] : [40, 24]);
  }
  assert.deepEqual(explanations.map((e) => e.overlay), [join(out, '0.gradcam.png'), join(out, 'large.gradcam.png')]);
});

test('explain --class explains the class named; mistakes are one line and exit 2', () => {
  const out = join(root, 'explained-blue');
  const ok = runCli('explain', '--model', run, '--out', out, '--class', 'blue', '--json', '--backend', 'cpu', images[0]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).explanations[0].class, 'blue');
  for (const [args, pattern] of [
    [['--class', 'purple', images[0]], /--class 'purple' is not one of the model's classes \(blue, green, red\)/],
    [[join(root, 'missing.png')], /missing\.png: no such file/],
  ] as const) {
    const r = runCli('explain', '--model', run, '--out', out, '--backend', 'cpu', ...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.ok(!hasStack(r.stderr));
  }
});
