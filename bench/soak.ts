// Soak: train a small model for many epochs, then serve many predictions one request at a time
// (decode the photo, predict, rank), watching the process's RSS and TensorFlow.js's live tensors and
// bytes. Both must stay flat. Prints one JSON line (docs/benchmarks.md, "Session 5: data").
//
// Usage: node dist/bench/soak.js [--data DIR] [--test DIR] [--model resnet20] [--image-size 32] [--epochs 50] [--predictions 10000]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '../src/tf.js';
import { loadImages } from '../src/data/node.js';
import { loadModelFolder } from '../src/train/checkpoint.js';
import { predictProbabilities } from '../src/train/evaluate.js';
import { defaultOptions } from '../src/train/options.js';
import type { Progress } from '../src/train/progress.js';
import { trainRun } from '../src/train/run.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const DATA = resolve(flag('data', join(ROOT, '../shared/data/signs/train')));
const TEST = resolve(flag('test', join(ROOT, '../shared/data/signs/test')));
const [model, size, epochs, predictions] = [flag('model', 'resnet20'), Number(flag('image-size', '32')), Number(flag('epochs', '50')), Number(flag('predictions', '10000'))];
const mb = () => Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10;

const work = mkdtempSync(join(tmpdir(), 'resnet-soak-'));
const trainSamples: { epoch: number; rss_mb: number; tensors: number; tensor_mb: number; seconds: number }[] = [];
const progress: Progress = {
  startEpoch() {},
  step() {},
  log() {},
  endEpoch(record) {
    const m = tf.memory();
    trainSamples.push({ epoch: record.epoch, rss_mb: mb(), tensors: m.numTensors, tensor_mb: Math.round((m.numBytes / 2 ** 20) * 100) / 100, seconds: Math.round(record.seconds * 10) / 10 });
  },
};
try {
  const started = performance.now();
  const options = { ...defaultOptions(DATA, 'course'), model, imageSize: size, epochs, cacheDir: join(work, 'cache'), out: join(work, 'run') };
  const result = await trainRun(options, { progress });
  const trainSeconds = (performance.now() - started) / 1000;

  const { model: net, metadata } = await loadModelFolder(result.out);
  const [h, w, c] = metadata.inputShape;
  const photos = readdirSync(TEST, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const serveSamples: { requests: number; rss_mb: number; tensors: number }[] = [];
  const serveStart = performance.now();
  let correct = 0;
  for (let i = 0; i < predictions; i++) {
    const photo = photos[i % photos.length];
    const pixels = await loadImages([photo], [h, w], c, metadata.resize?.mode);
    const probs = predictProbabilities(net, pixels, [1, h, w, c], 1);
    const best = probs.indexOf(Math.max(...probs));
    if (metadata.classNames[best] === photo.split('/').at(-2)) correct++;
    if ((i + 1) % 1000 === 0) serveSamples.push({ requests: i + 1, rss_mb: mb(), tensors: tf.memory().numTensors });
  }
  const serveSeconds = (performance.now() - serveStart) / 1000;
  net.dispose();
  const rss = (samples: { rss_mb: number }[], from: number) => samples.slice(from).map((s) => s.rss_mb);
  const growth = (values: number[]) => Math.round((values.at(-1)! - values[0]) * 10) / 10;
  console.log(JSON.stringify({
    bench: 'soak', data: DATA, model, input: metadata.inputShape, epochs, train_seconds: Math.round(trainSeconds), engine: result.engine,
    best_val_accuracy: result.state.best?.accuracy,
    train_rss_mb_epoch10_to_last: growth(rss(trainSamples, 9)), train_tensors: [...new Set(trainSamples.map((s) => s.tensors))],
    predictions, serve_seconds: Math.round(serveSeconds), serve_accuracy: Math.round((correct / predictions) * 1000) / 1000,
    serve_rss_mb_first_to_last: growth(rss(serveSamples, 0)), serve_tensors: [...new Set(serveSamples.map((s) => s.tensors))],
    train: trainSamples, serve: serveSamples, when: new Date().toISOString(),
  }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
