// `resnet train --distributed jax`: two Keras-on-JAX processes over loopback train one epoch of a
// small ResNet (resnet20, option-A shortcuts) on a generated image folder, in lock-step, and the run
// folder they leave behind is an ordinary one that `resnet evaluate` reads. Needs Python with keras
// and jax (python/setup.sh); skipped with the reason where there is none, unless
// RESNET_REQUIRE_PYTHON=1 (set by .ci/run), which makes that a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPython } from '../../src/distributed/python.js';
import { hasStack, runCli, runCliWithin, tempDir, writeImageFolder } from '../cli/helpers.js';

const found = findPython();
const required = process.env.RESNET_REQUIRE_PYTHON === '1';
const skip = 'reason' in found && !required ? `no Python for the JAX side: ${found.reason}` : false;

/** A run folder's weights as one float32 array. */
const weightsOf = (dir: string) => {
  const bytes = readFileSync(join(dir, 'weights.bin'));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

test('two JAX processes on loopback train one epoch as one process does; the run folder evaluates', { skip, timeout: 900_000 }, async () => {
  assert.ok(!('reason' in found), `RESNET_REQUIRE_PYTHON=1 but ${'reason' in found ? found.reason : ''}`);
  const root = tempDir('resnet-jax-');
  const data = await writeImageFolder(join(root, 'data'), 8, 8);
  const out = join(root, 'run');
  const args = (processes: number, dir: string) => ['train', '--data', data, '--model', 'resnet20', '--epochs', '1', '--batch-size', '8', '--val-split', '0.25',
    '--backend', 'cpu', '--recipe', 'course', '--distributed', 'jax', '--processes', String(processes), '--out', dir];
  const r = await runCliWithin(840_000, ...args(2, out));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Keras on JAX, 2 processes \(here: 0, 1; coordinator 127\.0\.0\.1:\d+; /);
  // The Keras rebuild computes what the TF.js model computes, on the same weights (tolerance 1e-4, checked by the run itself).
  const check = /Keras rebuild of resnet20: outputs within (\S+) of TensorFlow\.js's on 4 images/.exec(r.stdout);
  assert.ok(check && Number(check[1]) <= 1e-4, r.stdout);
  assert.match(r.stdout, /^epoch 1\/1  loss \d/m);
  const history = readFileSync(join(out, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(history.length, 1);
  // 18 training images in batches of 8 (4 per process); the last batch's 2 images split 1 + 1.
  assert.equal(history[0].images, 18);
  for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'train_seconds']) assert.ok(Number.isFinite(history[0][key]), key);
  // Both processes ran to the end (the run fails on any non-zero exit): their logs hold no trace.
  for (const id of [0, 1]) assert.doesNotMatch(readFileSync(join(out, 'jax', `process-${id}.log`), 'utf8'), /Traceback/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.distributed.processes, 2);
  for (const f of ['model.json', 'weights.bin', 'curves.svg', join('best', 'model.json'), join('last', 'model.json')]) assert.ok(existsSync(join(out, f)), f);

  // The same run in one process sees the same global batches (18 = 8 + 8 + 2 images; the 2 split 1 + 1),
  // and JAX computes each step over the global batch (batch-norm statistics included): the same loss
  // (float32 sums in another order: 1e-4 relative) and the same weights after 3 steps (1e-3 absolute).
  const one = await runCliWithin(840_000, ...args(1, join(root, 'one')));
  assert.equal(one.status, 0, one.stderr + one.stdout);
  const single = JSON.parse(readFileSync(join(root, 'one', 'history.jsonl'), 'utf8').trim());
  assert.ok(Math.abs(single.loss - history[0].loss) <= 1e-4 * single.loss, `${single.loss} vs ${history[0].loss}`);
  const [a, b] = [weightsOf(out), weightsOf(join(root, 'one'))];
  assert.equal(a.length, b.length);
  const largest = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(largest <= 1e-3, `weights differ by ${largest}`);

  const e = runCli('evaluate', '--model', out, '--data', data, '--backend', 'cpu', '--json');
  assert.equal(e.status, 0, e.stderr);
  const evaluation = JSON.parse(e.stdout);
  assert.equal(evaluation.images, 24);
  assert.ok(evaluation.accuracy >= 0 && evaluation.accuracy <= 1);

  // A distributed run cannot be resumed (yet): one clear line.
  const resumed = runCli('train', '--resume', out);
  assert.equal(resumed.status, 2);
  assert.match(resumed.stderr, /was trained with --distributed, whose runs cannot be resumed yet/);
});

test('bad --distributed flags exit 2 with one line and no stack', () => {
  for (const [args, pattern] of [
    [['--distributed', 'mpi'], /--distributed must be one of jax/],
    [['--distributed', 'jax', '--processes', '3', '--batch-size', '8'], /--batch-size 8 must be a multiple of --processes 3/],
    [['--distributed', 'jax', '--process-id', '1'], /--process-id needs --coordinator/],
    [['--distributed', 'jax', '--coordinator', 'nohost'], /--coordinator must be HOST:PORT/],
    [['--processes', '2'], /need --distributed jax/],
  ] as const) {
    const r = runCli('train', '--data', 'nowhere', '--backend', 'cpu', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!hasStack(r.stderr));
  }
});
