// `resnet quantize`, then `evaluate` / `predict --precision int8` (and bfloat16), run as a user runs
// them on 12 PNGs of 8x8 pixels in 3 classes with a tiny-resnet trained on the native engine.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasStack, runCli, tempDir, writeImageFolder } from './helpers.js';
import { skip } from '../engine/native/helpers.js';

let root = '', data = '', run = '', quantized = '';

describe('resnet quantize -> evaluate / predict --precision int8', { skip }, () => {
  before(async () => {
    root = tempDir('resnet-quantize-');
    data = await writeImageFolder(join(root, 'data'), 4);
    run = join(root, 'run');
    const r = runCli('train', '--data', data, '--epochs', '3', '--out', run, '--model', 'tiny-resnet', '--batch-size', '4', '--lr', '0.01',
      '--val-split', '0.25', '--backend', 'native');
    assert.equal(r.status, 0, r.stderr);
    quantized = join(root, 'run-int8');
  });

  test('quantize writes a loadable folder with the calibration, and reports agreement with float32', () => {
    const r = runCli('quantize', run, '--calibration', data, '--images', '9', '--json');
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim());
    assert.equal(summary.out, quantized);
    assert.equal(summary.images, 9);
    assert.ok(summary.values >= 5, `${summary.values} activations calibrated`);
    assert.ok(summary.top1_agreement >= 8 / 9, `top-1 agreement ${summary.top1_agreement}`);
    for (const f of ['model.json', 'weights.bin', 'quantization.json']) assert.ok(existsSync(join(quantized, f)), f);
    const q = JSON.parse(readFileSync(join(quantized, 'quantization.json'), 'utf8'));
    assert.equal(q.format, 'resnet-ts-int8-calibration');
    assert.ok(Object.values(q.ranges as Record<string, number[]>).every(([lo, hi]) => lo <= hi));
  });

  test('evaluate --precision int8 scores within one image of float32; bfloat16 likewise', () => {
    const results = ['float32', 'int8', 'bfloat16'].map((precision) => {
      const r = runCli('evaluate', '--model', quantized, '--data', data, '--json', '--precision', precision, '--out', join(root, `eval-${precision}`));
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim()) as { accuracy: number; images: number };
    });
    const [float32, int8, bfloat16] = results;
    assert.ok(Math.abs(int8.accuracy - float32.accuracy) <= 1 / float32.images, `${int8.accuracy} vs ${float32.accuracy}`);
    assert.ok(Math.abs(bfloat16.accuracy - float32.accuracy) <= 1 / float32.images, `${bfloat16.accuracy} vs ${float32.accuracy}`);
  });

  test('predict --precision int8 ranks the classes like float32', () => {
    const image = join(data, 'red', '0.png');
    const [f, q] = ['float32', 'int8'].map((precision) => {
      const r = runCli('predict', '--model', quantized, image, '--json', '--precision', precision);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim()).predictions[0].top as { class: string; probability: number }[];
    });
    assert.equal(q[0].class, f[0].class);
    assert.ok(Math.abs(q[0].probability - f[0].probability) < 0.05, `${q[0].probability} vs ${f[0].probability}`);
  });

  test('int8 without a calibration, a damaged one, or bad flags: one error line, exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['evaluate', '--model', run, '--data', data, '--precision', 'int8'], /has no int8 calibration \(quantization\.json\): make one with 'resnet quantize/],
      [['quantize', run, '--calibration', join(root, 'missing')], /missing/],
      [['quantize', run, '--calibration', data, '--images', '0'], /--images must be a positive integer/],
      [['predict', '--model', run, join(data, 'red', '0.png'), '--precision', 'int4'], /--precision must be one of float32, bfloat16, int8; got 'int4'/],
      [['quantize', run, '--calibration', data, '--backend', 'wasm'], /precision int8 needs the native engine/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!hasStack(r.stderr));
    }
    writeFileSync(join(quantized, 'quantization.json'), '{"format": "resnet-ts-int8-calibration", "ranges": {"x": [1, 0]}}');
    const r = runCli('evaluate', '--model', quantized, '--data', data, '--precision', 'int8');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not an int8 calibration written by 'resnet quantize'/);
  });
});
