// Figures of the gradient study: helper arithmetic by hand, SVG rendering of hand-made runs, and the
// `resnet gradients` command's handling of bad flags.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { StudyRun } from '../../src/study/gradients.js';
import { gradientNormsSpec, momentsOf, movingAverage, studyFigures } from '../../src/study/plots.js';

function run(depth: number, batchNorm: boolean): StudyRun {
  const trace = (scale: number) => ({
    loss: [2.3, 2.1, 1.9, 1.7],
    layerGradNorms: [0, 2, 3].map((step) => ({ step, norms: Array.from({ length: depth }, (_, i) => scale * (i + 1)), weightNorms: Array(depth).fill(2) })),
    divergedAtStep: null,
  });
  return { key: `depth${depth}`, depth, batchNorm, init: 'he', layers: Array.from({ length: depth }, (_, i) => `l${i}`), plain: trace(1e-3), residual: trace(1) };
}

describe('study figures', () => {
  test('moving average over a trailing window, by hand', () => {
    assert.deepEqual(movingAverage([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5]);
    assert.deepEqual(movingAverage([4, 2], 10), [4, 3]);
  });

  test('moments: first, last and evenly in between', () => {
    assert.deepEqual(momentsOf([0, 10, 20, 30, 40], 3), [0, 20, 40]);
    assert.deepEqual(momentsOf([0, 10], 3), [0, 10]);
  });

  test('per-layer chart data: one point per layer, network and moment; layers numbered from 1', () => {
    const spec = gradientNormsSpec([run(8, true)]) as { data: { values: { layer: number; network: string; norm: number }[] } };
    const values = spec.data.values;
    assert.equal(values.length, 8 * 2 * 3);
    assert.deepEqual(values.slice(0, 2).map((v) => v.layer), [1, 2]);
    assert.equal(values.find((v) => v.network === 'plain' && v.layer === 8)!.norm, 8e-3);
  });

  test('renders SVG files: one per configuration, the loss curves and the first-layer norms', async () => {
    const figures = await studyFigures([run(8, true), run(14, true), run(8, false), run(14, false)]);
    assert.deepEqual(figures.map((f) => f.file), ['gradients-bn-he.svg', 'gradients-nobn-he.svg', 'loss.svg', 'first-layer.svg']);
    for (const f of figures) assert.match(f.svg, /^<svg[^>]*>[\s\S]*<\/svg>\s*$/);
    assert.match(figures[0].svg, /Gradient norm of each weight layer, with BN, he init/);
    assert.match(figures[2].svg, /plain-14/);
    assert.match(figures[2].svg, /ResNet-8/);
  });

  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

  test('resnet gradients end to end on a folder of 8 tiny PNGs: --json line, figures and study.json written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gradients-'));
    try {
      for (const label of ['a', 'b']) {
        await mkdir(join(dir, 'data', label), { recursive: true });
        for (let i = 0; i < 4; i++) {
          const pixels = Buffer.alloc(4 * 4 * 3, label === 'a' ? 40 * i : 255 - 40 * i);
          await sharp(pixels, { raw: { width: 4, height: 4, channels: 3 } }).png().toFile(join(dir, 'data', label, `${i}.png`));
        }
      }
      const args = ['gradients', '--data', join(dir, 'data'), '--depth', '8', '--steps', '2', '--batch-size', '4', '--bn', 'off', '--init', 'he', '--backend', 'cpu', '--json', '--out', join(dir, 'out')];
      const result = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      const lines = result.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const json = JSON.parse(lines[0]);
      assert.equal(json.key, 'depth8-nobn-he');
      assert.equal(json.layers.length, 8);
      assert.equal(json.plain.loss.length, 2);
      assert.equal(json.residual.layerGradNorms.length, 2);
      assert.deepEqual((await readdir(join(dir, 'out'))).sort(), ['first-layer.svg', 'gradients-nobn-he.svg', 'loss.svg', 'study.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('resnet gradients: a depth that is not 6n+2 is a one-line user error (exit 2)', () => {
    const result = spawnSync(process.execPath, [main, 'gradients', '--depth', '20,21', '--backend', 'cpu'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim(), 'resnet: error: --depth: 21 is not 6n+2 (8, 14, 20, 32, 44, 56, 110, ...)');
  });
});
