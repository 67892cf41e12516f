// Training and prediction throughput of a model on the active engine, as ../shared/spec/benchmark.md
// defines it: random images in [0, 1), random one-hot labels, Adam (lr 1e-3), categorical cross-entropy;
// warm-up steps first, then timed steps; images per second = images / seconds.
import * as tf from '../tf.js';
import { countFlops } from './flops.js';
import { buildModel } from '../models/registry.js';

export interface ThroughputOptions {
  model: string;
  inputShape: [number, number, number];
  classes: number;
  batchSize: number;
  /** Untimed training steps before timing (kernel set-up, primitive caches). */
  warmupSteps: number;
  /** Timed training steps, and timed prediction batches. */
  steps: number;
  /** Also profile one training step, kernel by kernel. */
  profile: boolean;
  /** Called with the built model before any batch is made (e.g. to refuse a batch that cannot fit). */
  beforeRun?: (model: tf.LayersModel) => void;
}

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
  share: number;
}

export interface ThroughputResult {
  backend: string;
  model: string;
  input: [number, number, number];
  batch_size: number;
  train_images_per_sec: number;
  predict_images_per_sec: number;
  train_step_seconds: number;
  predict_batch_seconds: number;
  steps: number;
  params: number;
  /** Convolution and dense-layer work of a training step per image (inspect/flops.ts), in GFLOP. */
  train_gflop_per_image: number;
  /** train_gflop_per_image x train_images_per_sec: the rate to compare with the kernels' own. */
  train_gflops_per_sec: number;
  tfjs_version: string;
  /** What the convolutions multiplied in (set by the caller that chose it). */
  precision?: string;
  profile?: { step_ms: number; kernels: KernelTime[] };
}

const seconds = () => performance.now() / 1000;

/** Kernel time of one call of `fn`, summed by kernel name, largest first. */
export async function profileKernels(fn: () => Promise<tf.TensorContainer>, top = 15): Promise<{ step_ms: number; kernels: KernelTime[] }> {
  const start = performance.now();
  const info = await tf.profile(fn);
  const stepMs = performance.now() - start;
  const byName = new Map<string, { calls: number; ms: number }>();
  for (const k of info.kernels) {
    // Ops built with customGrad (e.g. fusedConv2d__op) appear as a scope around their own kernels:
    // counting both would count that time twice.
    if (k.name.endsWith('__op')) continue;
    const entry = byName.get(k.name) ?? { calls: 0, ms: 0 };
    entry.calls += 1;
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byName.set(k.name, entry);
  }
  const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
  const kernels = [...byName.entries()]
    .map(([kernel, e]) => ({ kernel, calls: e.calls, ms: Math.round(e.ms * 10) / 10, share: Math.round((e.ms / total) * 1000) / 1000 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
  return { step_ms: Math.round(stepMs), kernels };
}

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { batchSize, inputShape, classes, steps } = options;
  const model = buildModel(options.model, { inputShape, classes });
  try {
    options.beforeRun?.(model);
  } catch (error) {
    model.dispose();
    throw error;
  }
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const trainGflop = countFlops(model).training / 1e9;
  const xs = tf.randomUniform([batchSize, ...inputShape], 0, 1, 'float32', 1);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([batchSize], 0, classes, 'int32', 2), classes), 'float32'));
  try {
    for (let i = 0; i < options.warmupSteps; i++) await model.trainOnBatch(xs, ys);
    let start = seconds();
    for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys); // resolves once the loss is read back
    const trainStep = (seconds() - start) / steps;

    const predictOnce = async () => {
      const out = model.predict(xs) as tf.Tensor;
      await out.data();
      out.dispose();
    };
    await predictOnce(); // warm-up
    start = seconds();
    for (let i = 0; i < steps; i++) await predictOnce();
    const predictBatch = (seconds() - start) / steps;

    const result: ThroughputResult = {
      backend: tf.getBackend(),
      model: options.model,
      input: inputShape,
      batch_size: batchSize,
      train_images_per_sec: round(batchSize / trainStep),
      predict_images_per_sec: round(batchSize / predictBatch),
      train_step_seconds: round(trainStep, 4),
      predict_batch_seconds: round(predictBatch, 4),
      steps,
      params: model.countParams(),
      train_gflop_per_image: round(trainGflop, 3),
      train_gflops_per_sec: round(trainGflop * (batchSize / trainStep), 1),
      tfjs_version: tf.version_core,
    };
    if (options.profile) result.profile = await profileKernels(async () => (await model.trainOnBatch(xs, ys)) as number);
    return result;
  } finally {
    tf.dispose([xs, ys]);
    model.dispose();
  }
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
