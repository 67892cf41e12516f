// Training and prediction throughput of a model on the active engine, as ../shared/spec/benchmark.md
// defines it: random images in [0, 1), random one-hot labels, Adam (lr 1e-3), categorical cross-entropy;
// warm-up steps first, then timed steps; images per second = images / seconds. Prediction runs the
// compiled inference path (src/infer/: folded batch norm, fused kernels), as `resnet predict` does,
// and, for comparison, the model's own predict.
import * as tf from '../tf.js';
import { countFlops } from './flops.js';
import { buildModel } from '../models/registry.js';
import { compileForInference, type CompiledModel, type InferencePrecision } from '../infer/compile.js';

export interface ThroughputOptions {
  model: string;
  inputShape: [number, number, number];
  classes: number;
  batchSize: number;
  /** Untimed training steps before timing (kernel set-up, primitive caches). */
  warmupSteps: number;
  /** Timed training steps, and timed prediction batches. */
  steps: number;
  /** Also profile one training step, kernel by kernel, and one prediction, operation by operation. */
  profile: boolean;
  /** Skip training: time prediction only (then `steps` prediction batches). */
  predictOnly?: boolean;
  /**
   * What the compiled prediction computes in (default: the engine's precision). int8 is calibrated
   * on the benchmark's own random batch (timing does not depend on the scales).
   */
  predictPrecision?: InferencePrecision;
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
  /** null with predictOnly. */
  train_images_per_sec: number | null;
  /** The compiled inference path (what `resnet predict` and `evaluate` run). */
  predict_images_per_sec: number;
  train_step_seconds: number | null;
  predict_batch_seconds: number;
  /** Median and 99th percentile of the timed prediction batches, in milliseconds (latency). */
  predict_batch_ms_median: number;
  predict_batch_ms_p99: number;
  /** The model's own predict (the layers, unfused), same batch. */
  predict_layers_images_per_sec: number;
  /** The inference executor and the precision it ran in. */
  predict_executor: string;
  predict_precision: InferencePrecision;
  /** Convolution and dense-layer work of a prediction per image, in GFLOP, and that x the compiled rate. */
  predict_gflop_per_image: number;
  predict_gflops_per_sec: number;
  steps: number;
  params: number;
  /** Convolution and dense-layer work of a training step per image (inspect/flops.ts), in GFLOP. */
  train_gflop_per_image: number;
  /** train_gflop_per_image x train_images_per_sec: the rate to compare with the kernels' own. */
  train_gflops_per_sec: number;
  tfjs_version: string;
  /** What the convolutions multiplied in (set by the caller that chose it). */
  precision?: string;
  /** The native engine's OpenMP threads (set by the caller on that engine). */
  threads?: { onednn: number; loops: number };
  profile?: { step_ms: number; kernels: KernelTime[] };
  /** One compiled prediction by operation kind (native executor), and its slowest operations. */
  predict_profile?: { kind: string; calls: number; ms: number }[];
  predict_profile_top?: { op: string; ms: number }[];
}

const seconds = () => performance.now() / 1000;
/** Operations listed by name in a prediction profile (the slowest). */
const PROFILE_TOP = 15;

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

/** Times `fn` `count` times after one untimed call: the seconds of each call. */
async function timeCalls(fn: () => Promise<void>, count: number): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = seconds();
    await fn();
    times.push(seconds() - start);
  }
  return times;
}

/** The q-quantile of `xs` (nearest rank). */
function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The compiled model for prediction in `precision` (int8: calibrated on `xs`). */
function compiledFor(model: tf.LayersModel, xs: tf.Tensor, precision: InferencePrecision | undefined): CompiledModel {
  if (precision !== 'int8') return compileForInference(model, { precision });
  const float32 = compileForInference(model, { precision: 'float32' });
  try {
    if (!float32.observeRanges) throw new Error('precision int8 needs the native engine');
    return compileForInference(model, { precision: 'int8', ranges: float32.observeRanges([xs]) });
  } finally {
    float32.dispose();
  }
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
  const flops = countFlops(model);
  const trainGflop = flops.training / 1e9, predictGflop = flops.forward / 1e9;
  const xs = tf.randomUniform([batchSize, ...inputShape], 0, 1, 'float32', 1);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([batchSize], 0, classes, 'int32', 2), classes), 'float32'));
  let compiled: CompiledModel | null = null;
  try {
    let trainStep: number | null = null;
    if (!options.predictOnly) {
      for (let i = 0; i < options.warmupSteps; i++) await model.trainOnBatch(xs, ys);
      const start = seconds();
      for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys); // resolves once the loss is read back
      trainStep = (seconds() - start) / steps;
    }
    const predictWith = (predict: (x: tf.Tensor) => tf.Tensor) => async () => {
      const out = predict(xs);
      await out.data();
      out.dispose();
    };
    const layerTimes = await timeCalls(predictWith((x) => model.predict(x) as tf.Tensor), Math.min(steps, 8));
    compiled = compiledFor(model, xs, options.predictPrecision);
    const c = compiled;
    const times = await timeCalls(predictWith((x) => c.predict(x)), steps);
    const predictBatch = times.reduce((a, b) => a + b, 0) / steps;
    const layersBatch = layerTimes.reduce((a, b) => a + b, 0) / layerTimes.length;

    const result: ThroughputResult = {
      backend: tf.getBackend(),
      model: options.model,
      input: inputShape,
      batch_size: batchSize,
      train_images_per_sec: trainStep === null ? null : round(batchSize / trainStep),
      predict_images_per_sec: round(batchSize / predictBatch),
      train_step_seconds: trainStep === null ? null : round(trainStep, 4),
      predict_batch_seconds: round(predictBatch, 4),
      predict_batch_ms_median: round(quantile(times, 0.5) * 1000, 3),
      predict_batch_ms_p99: round(quantile(times, 0.99) * 1000, 3),
      predict_layers_images_per_sec: round(batchSize / layersBatch),
      predict_executor: c.report.executor,
      predict_precision: c.report.precision,
      predict_gflop_per_image: round(predictGflop, 3),
      predict_gflops_per_sec: round(predictGflop * (batchSize / predictBatch), 1),
      steps,
      params: model.countParams(),
      train_gflop_per_image: round(trainGflop, 3),
      train_gflops_per_sec: trainStep === null ? 0 : round(trainGflop * (batchSize / trainStep), 1),
      tfjs_version: tf.version_core,
    };
    if (options.profile) {
      if (!options.predictOnly) result.profile = await profileKernels(async () => (await model.trainOnBatch(xs, ys)) as number);
      const profile = c.profile?.(xs);
      result.predict_profile = profile?.map((r) => ({ ...r, ms: round(r.ms, 3) }));
      result.predict_profile_top = profile?.operations?.sort((p, q) => q.ms - p.ms).slice(0, PROFILE_TOP).map((r) => ({ ...r, ms: round(r.ms, 3) }));
    }
    return result;
  } finally {
    compiled?.dispose();
    tf.dispose([xs, ys]);
    model.dispose();
  }
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
