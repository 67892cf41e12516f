// compileForInference: a Keras model turned into a prediction function, the way onnxruntime runs an
// exported model: the layer graph is read once (graph.ts), rewritten by named passes (passes/:
// batch norm folded into the convolutions, ReLU and the residual Add fused into them, explicit zero
// padding folded), and handed to an executor that keeps the weights in the form its kernels want.
// Executors register themselves (the native engine's: src/infer/native/executor.ts); where none
// applies to the active engine, or the model cannot be read as one graph, prediction is the model's
// own `predict`. Browser-safe: no Node module is imported here.
import * as tf from '../tf.js';
import { readGraph, unsupportedModel, type Graph } from './graph.js';
import { optimize } from './passes/index.js';

/** What the convolutions compute in: float32, bfloat16 (native engine, AVX512_BF16), int8 (native, calibrated). */
export type InferencePrecision = 'float32' | 'bfloat16' | 'int8';
export const INFERENCE_PRECISIONS: readonly InferencePrecision[] = ['float32', 'bfloat16', 'int8'];

/** Observed [min, max] of each graph value (by Value.name) over calibration images: int8 scales. */
export type ActivationRanges = Record<string, [number, number]>;

export interface InferenceOptions {
  /** Default: the engine's own precision (float32, or bfloat16 when the native engine was set to it). */
  precision?: InferencePrecision;
  /** int8 only: activation ranges from calibration (quantize.ts). */
  ranges?: ActivationRanges;
}

export interface CompileReport {
  /** 'layers' when prediction is the model's own predict. */
  executor: string;
  precision: InferencePrecision;
  /** Rewrites per pass. */
  passes: Record<string, number>;
  /** Operations left, by kind (after the passes). */
  operations: Record<string, number>;
  /** Layers run through their own call, with why. */
  fallbacks: string[];
  /** Why the whole model runs as layers ('' otherwise). */
  reason: string;
}

export interface CompiledModel {
  /** Class probabilities (the model's output) of images [N, H, W, C]; the caller disposes the result. */
  predict(x: tf.Tensor): tf.Tensor;
  /** Frees the executor's buffers and packed weights. */
  dispose(): void;
  readonly report: CompileReport;
  /** float32 compilations on an executor that can: the [min, max] of every value over `batches` (int8 calibration). */
  observeRanges?(batches: Iterable<tf.Tensor>): ActivationRanges;
  /**
   * Milliseconds by operation kind of one prediction of `x`, largest first, with each operation's
   * time in `operations` (where the executor can time them).
   */
  profile?(x: tf.Tensor): { kind: string; calls: number; ms: number }[] & { operations?: { op: string; ms: number }[] };
}

export interface InferenceExecutor {
  name: string;
  /** Whether it runs on the active engine. */
  applies(): boolean;
  /** The precision used when options name none. */
  defaultPrecision(): InferencePrecision;
  /** Why it cannot compute in `precision` here ('' when it can). */
  refuses(precision: InferencePrecision): string;
  compile(model: tf.LayersModel, graph: Graph, options: Required<Pick<InferenceOptions, 'precision'>> & InferenceOptions): CompiledModel;
}

const executors: InferenceExecutor[] = [];

/** Adds an executor (the native engine does so when it registers). */
export function registerInferenceExecutor(executor: InferenceExecutor): void {
  if (!executors.some((e) => e.name === executor.name)) executors.push(executor);
}

/** The graph of `model` after every pass, with each pass's count (for inspection and tests). */
export function optimizedGraph(model: tf.LayersModel): { graph: Graph; passes: Record<string, number> } {
  const graph = readGraph(model);
  return { graph, passes: optimize(graph) };
}

function countOperations(graph: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of graph.operations) counts[o.op] = (counts[o.op] ?? 0) + 1;
  return counts;
}

/** Prediction by the model's own predict (no executor applies, or the model is not one graph). */
function layersModel(model: tf.LayersModel, reason: string, passes: Record<string, number> = {}): CompiledModel {
  return {
    predict: (x) => model.predict(x) as tf.Tensor,
    dispose: () => {},
    report: { executor: 'layers', precision: 'float32', passes, operations: {}, fallbacks: [], reason },
  };
}

/**
 * Compiles `model` for prediction on the active engine. Throws where the precision asked for cannot
 * be had (bfloat16 or int8 off the native engine or on a CPU without the instructions; int8 without
 * ranges).
 */
export function compileForInference(model: tf.LayersModel, options: InferenceOptions = {}): CompiledModel {
  const executor = executors.find((e) => e.applies());
  const precision = options.precision ?? executor?.defaultPrecision() ?? 'float32';
  if (!executor) {
    if (precision !== 'float32') throw new Error(`precision ${precision} needs the native engine (the ${tf.getBackend()} engine computes in float32)`);
    return layersModel(model, `no inference executor for the ${tf.getBackend()} engine`);
  }
  const refusal = executor.refuses(precision);
  if (refusal) throw new Error(refusal);
  if (precision === 'int8' && !options.ranges) throw new Error('int8 prediction needs activation ranges from calibration (resnet quantize)');
  const unsupported = unsupportedModel(model);
  if (unsupported) {
    if (precision !== 'float32') throw new Error(`precision ${precision}: ${unsupported}`);
    return layersModel(model, unsupported);
  }
  const { graph, passes } = optimizedGraph(model);
  const compiled = executor.compile(model, graph, { ...options, precision });
  Object.assign(compiled.report, { passes, operations: countOperations(graph) });
  return compiled;
}

/** By model: the compiled forms `predictWithInference` keeps between calls, by executor and precision. */
const compiledModels = new WeakMap<tf.LayersModel, Map<string, { compiled: CompiledModel; ranges?: ActivationRanges }>>();

/**
 * Predicts with a compiled form of `model` kept between calls (the executor refreshes its weights
 * when the model's change, e.g. after a training epoch), compiling it on first use.
 */
export function predictWithInference(model: tf.LayersModel, x: tf.Tensor, options: InferenceOptions = {}): tf.Tensor {
  const executor = executors.find((e) => e.applies());
  const key = `${executor?.name ?? 'layers'}/${options.precision ?? executor?.defaultPrecision() ?? 'float32'}`;
  let byKey = compiledModels.get(model);
  if (!byKey) compiledModels.set(model, (byKey = new Map()));
  let entry = byKey.get(key);
  if (!entry || entry.ranges !== options.ranges) {
    entry?.compiled.dispose();
    entry = { compiled: compileForInference(model, options), ranges: options.ranges };
    byKey.set(key, entry);
  }
  return entry.compiled.predict(x);
}

/** Frees the compiled forms of `model` that predictWithInference keeps. */
export function releaseInference(model: tf.LayersModel): void {
  for (const { compiled } of compiledModels.get(model)?.values() ?? []) compiled.dispose();
  compiledModels.delete(model);
}
