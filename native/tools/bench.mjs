// Times ResNet-50 training and prediction on one engine and prints one JSON line (benchmark.md's
// protocol). Usage: node native/tools/bench.mjs [--backend native] [--steps 8] [--profile]
// [--conv-algorithm auto|gemm|primitive] (how the native engine computes float32 convolutions)
import * as tf from '../../dist/src/tf.js';
import { useBackend } from '../../dist/src/engine/backends.js';
import { loadAddon } from '../../dist/src/engine/native/addon.js';
import { resnet50 } from '../../dist/src/models/resnet50.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const backend = await useBackend(arg('backend', 'native'));
if (arg('conv-algorithm')) loadAddon().setConvAlgorithm(arg('conv-algorithm'));
const batch = Number(arg('batch', 32)), steps = Number(arg('steps', 8)), warmup = 2;
const model = resnet50({ inputShape: [64, 64, 3], classes: 6 }); // the course's (../shared/spec/resnet.md)
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
const xs = tf.randomUniform([batch, 64, 64, 3]);
const ys = tf.cast(tf.oneHot(tf.randomUniform([batch], 0, 6, 'int32'), 6), 'float32');
const seconds = async (n, f) => { const t = performance.now(); for (let i = 0; i < n; i++) await f(); return (performance.now() - t) / 1000; };
const train = () => model.trainOnBatch(xs, ys);
const predict = async () => { const p = model.predict(xs); await p.data(); p.dispose(); };
await seconds(warmup, train);
const tensorsBefore = tf.memory().numTensors;
const cpuBefore = process.cpuUsage();
const trainSec = await seconds(steps, train);
const cpu = process.cpuUsage(cpuBefore);
const tensorsAfter = tf.memory().numTensors;
await seconds(1, predict);
const predictSec = await seconds(steps, predict);
const out = {
  backend, model: 'resnet50', input: [64, 64, 3], batch_size: batch,
  train_images_per_sec: +(batch * steps / trainSec).toFixed(2),
  predict_images_per_sec: +(batch * steps / predictSec).toFixed(2),
  train_step_sec: +(trainSec / steps).toFixed(4),
  // CPU seconds per step (user + system, all threads): the machine is shared, so wall time alone misleads.
  train_step_cpu_sec: +((cpu.user + cpu.system) / 1e6 / steps).toFixed(4), tensor_growth: tensorsAfter - tensorsBefore,
};
if (process.argv.includes('--profile')) {
  const profile = await tf.profile(() => train());
  const byKernel = new Map();
  // '<name>__op' entries are op scopes that contain the kernel entries: counted once, via the kernels.
  for (const k of profile.kernels.filter((k) => !k.name.endsWith('__op'))) {
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs; e.calls++; byKernel.set(k.name, e);
  }
  const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  out.profile_total_kernel_ms = +total.toFixed(1);
  out.profile = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(arg('top', 15)))
    .map(([name, e]) => ({ kernel: name, ms: +e.ms.toFixed(1), calls: e.calls }));
}
console.log(JSON.stringify(out));
