// Training and prediction throughput of the course ResNet-50 (64x64x3, 6 classes, batch 32) on
// the wasm engine, plus a per-kernel profile of one training step (tf.profile), as one JSON line.
// Usage: node dist/bench/wasm-profile.js [--steps 8] [--predict-batches 8] [--top 15] [--no-profile]
import { cpus } from 'node:os';
import * as tf from '../src/tf.js';
import { useBackend } from '../src/engine/backends.js';
import { resnet50 } from '../src/models/resnet50.js';
import { getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const BATCH_SIZE = 32;
const INPUT_SHAPE: [number, number, number] = [64, 64, 3];
const CLASSES = 6;
const LEARNING_RATE = 1e-3;
const WARMUP_STEPS = 2;
const TIMED_STEPS = option('steps', 8);
const PREDICT_BATCHES = option('predict-batches', 8);
const TOP_KERNELS = option('top', 15);

await useBackend('wasm');
const model = resnet50({ inputShape: INPUT_SHAPE, classes: CLASSES });
model.compile({ optimizer: tf.train.adam(LEARNING_RATE), loss: 'categoricalCrossentropy' });
const images = tf.randomUniform([BATCH_SIZE, ...INPUT_SHAPE], 0, 1);
const labels = tf.oneHot(tf.randomUniform([BATCH_SIZE], 0, CLASSES, 'int32') as tf.Tensor1D, CLASSES);

for (let i = 0; i < WARMUP_STEPS; i++) await model.trainOnBatch(images, labels);
const tensorsBefore = tf.memory().numTensors;
const trainStart = performance.now();
const trainCpuStart = process.cpuUsage();
const losses: number[] = [];
for (let i = 0; i < TIMED_STEPS; i++) losses.push((await model.trainOnBatch(images, labels)) as number);
const trainSeconds = (performance.now() - trainStart) / 1000;
const trainCpu = process.cpuUsage(trainCpuStart);
// CPU time of this process: a steadier figure than wall time on a machine shared with other work.
const trainCpuSecondsPerStep = (trainCpu.user + trainCpu.system) / 1e6 / TIMED_STEPS;
const tensorsAfter = tf.memory().numTensors;

tf.tidy(() => model.predict(images, { batchSize: BATCH_SIZE }));
const predictStart = performance.now();
for (let i = 0; i < PREDICT_BATCHES; i++) {
  const out = model.predict(images, { batchSize: BATCH_SIZE }) as tf.Tensor;
  out.dataSync();
  out.dispose();
}
const predictSeconds = (performance.now() - predictStart) / 1000;

/** Milliseconds per kernel name over one training step, largest first. */
async function profileOneStep() {
  const info = await tf.profile(async () => {
    await model.trainOnBatch(images, labels);
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // 'xxx__op' entries wrap kernels already listed (custom-gradient ops such as fused conv2d).
    if (k.name.endsWith('__op')) continue;
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += k.kernelTimeMs as number;
    entry.calls += 1;
    byKernel.set(k.name, entry);
  }
  const totalMs = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  const top = [...byKernel.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, TOP_KERNELS)
    .map(([kernel, e]) => ({ kernel, ms: Math.round(e.ms), calls: e.calls, share: +(e.ms / totalMs).toFixed(3) }));
  return { kernel_ms_total: Math.round(totalMs), top };
}
const profile = process.argv.includes('--no-profile') ? undefined : await profileOneStep();

console.log(
  JSON.stringify({
    backend: 'wasm',
    model: 'resnet50',
    input: INPUT_SHAPE,
    batch_size: BATCH_SIZE,
    train_images_per_sec: +((BATCH_SIZE * TIMED_STEPS) / trainSeconds).toFixed(2),
    predict_images_per_sec: +((BATCH_SIZE * PREDICT_BATCHES) / predictSeconds).toFixed(2),
    train_step_seconds: +(trainSeconds / TIMED_STEPS).toFixed(3),
    train_step_cpu_seconds: +trainCpuSecondsPerStep.toFixed(3),
    train_images_per_cpu_sec: +(BATCH_SIZE / trainCpuSecondsPerStep).toFixed(2),
    timed_steps: TIMED_STEPS,
    losses: losses.map((l) => +l.toFixed(4)),
    tensors_leaked_per_step: (tensorsAfter - tensorsBefore) / TIMED_STEPS,
    wasm_heap_mib: Math.round((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length / 2 ** 20),
    wasm_threads: getThreadsCount(),
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    tfjs_wasm: version_wasm,
    nproc: cpus().length,
    cpu: cpus()[0]?.model,
    profile_one_step: profile,
  }),
);
tf.dispose([images, labels]);
