// `resnet summary`, `resnet bench`, `resnet models` and `resnet engines` run as a user runs them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('resnet summary', () => {
  test('--json gives the course ResNet-50: 177 layers and the spec parameter totals', () => {
    const r = run('summary', '--model', 'resnet50', '--input', '64,64,3', '--classes', '6', '--json');
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.layers.length, 177);
    assert.equal(summary.totalParams, 23_600_006);
    assert.equal(summary.trainableParams, 23_546_886);
    assert.equal(summary.nonTrainableParams, 53_120);
    const conv1 = summary.layers.find((l: { name: string }) => l.name === 'conv1');
    assert.deepEqual(conv1, { name: 'conv1', className: 'Conv2D', outputShape: [null, 32, 32, 64], params: 9472, connectedTo: ['zero_padding2d'] });
    // The per-layer counts add up to the total.
    assert.equal(summary.layers.reduce((s: number, l: { params: number }) => s + l.params, 0), 23_600_006);
  });

  test('the table lists every layer and the totals, as Keras prints them', () => {
    const r = run('summary');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Model: "ResNet50"/);
    assert.match(r.stdout, /conv1 \(Conv2D\)\s+\(None, 32, 32, 64\)\s+9,472/);
    assert.match(r.stdout, /fc6 \(Dense\)\s+\(None, 6\)\s+12,294/);
    assert.match(r.stdout, /Total params: 23,600,006\nTrainable params: 23,546,886\nNon-trainable params: 53,120/);
  });

  for (const [args, message] of [
    [['--model', 'resnet51'], /unknown model 'resnet51'/],
    [['--input', '28,28,1'], /too small for model 'resnet50'/],
    [['--input', '64,x,3'], /--input must be/],
    [['--classes', '0'], /--classes must be a positive integer/],
  ] as const) {
    test(`bad input ${args.join(' ')}: one error line, exit 2, no stack`, () => {
      const r = run('summary', ...args);
      assert.equal(r.status, 2);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  }
});

describe('resnet bench', () => {
  test('--json prints one line with the protocol keys and positive rates', () => {
    const r = run('bench', '--model', 'resnet20', '--input', '16,16,1', '--classes', '3', '--batch-size', '4', '--warmup', '1', '--steps', '1', '--json');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const result = JSON.parse(lines[0]);
    for (const key of ['backend', 'model', 'input', 'batch_size', 'train_images_per_sec', 'predict_images_per_sec']) assert.ok(key in result, key);
    assert.equal(result.model, 'resnet20');
    assert.deepEqual(result.input, [16, 16, 1]);
    assert.equal(result.batch_size, 4);
    assert.ok(result.train_images_per_sec > 0 && result.predict_images_per_sec > 0 && result.predict_layers_images_per_sec > 0);
    assert.ok(result.predict_batch_ms_median > 0 && result.predict_batch_ms_p99 >= result.predict_batch_ms_median);
    // The FLOP rate is the work per image (inspect/flops.ts, tested there) times the image rate.
    assert.ok(result.train_gflop_per_image > 0);
    const rate = result.train_gflop_per_image * result.train_images_per_sec;
    assert.ok(Math.abs(result.train_gflops_per_sec - rate) <= 0.01 * rate + 0.1, `${result.train_gflops_per_sec} vs ${rate}`);
  });

  test('an unknown engine is one error line', () => {
    const r = run('bench', '--backend', 'gpu');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--backend must be one of/);
  });

  test('an unknown precision, or bfloat16 on an engine without it, is one error line', () => {
    const unknown = run('bench', '--precision', 'half');
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr.trim(), "resnet: error: --precision must be one of float32, bfloat16, int8; got 'half'");
    const wasm = run('bench', '--backend', 'wasm', '--precision', 'bfloat16');
    assert.equal(wasm.status, 2);
    assert.match(wasm.stderr, /^resnet: error: precision bfloat16 needs the native engine/);
  });
});

describe('the resnet executable', () => {
  test('the built entry point runs by itself (its #! line and execute bit), as `npx resnet` runs it', () => {
    // Without the execute bit (`npm run build` sets it) `npx resnet` fails with "Permission denied".
    const r = spawnSync(cli, ['models', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).includes('resnet50'));
  });
});

describe('resnet models / engines', () => {
  test('models lists the course model; engines always has cpu', () => {
    const models = JSON.parse(run('models', '--json').stdout);
    assert.ok(models.includes('resnet50'));
    const engines = JSON.parse(run('engines', '--json').stdout);
    assert.equal(engines.cpu, true);
    assert.equal(engines.wasm, true);
    const text = run('engines').stdout;
    assert.match(text, /^cpu +available \(precision: float32; inference: float32\)$/m);
    assert.match(text, /^wasm +available \(precision: float32; inference: float32\)$/m);
    // native: available with float32 (and bfloat16 where the CPU has it; int8 prediction where it has
    // VNNI), or one line saying why not.
    assert.match(text, /^native +(available \(precision: float32(, bfloat16)?; inference: float32(, bfloat16)?(, int8)?\)|not available: .+)$/m);
  });
});
