// Loads the oneDNN addon (native/build/Release/tfjs_native.node), found by walking up from this
// module to the package root, so that it works from src/ (tests) and dist/ alike.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Precision } from '../backends.js';

/** What the addon exports (native/src/*.cc). Arrays are used in place: no copies. */
export interface NativeAddon {
  onednnVersion: string;
  /** OpenMP threads of oneDNN's primitives and of the addon's own loops (0: unchanged); returns both. */
  setThreads(onednn: number, loops: number): { onednn: number; loops: number };
  /** The convolutions' compute type from now on; false (float32 kept) where the CPU lacks bf16. */
  setConvPrecision(precision: Precision): boolean;
  convPrecision(): Precision;
  /** The compute types this CPU offers, float32 first. */
  convPrecisions(): Precision[];
  /**
   * How convolutions are computed from now on: 'auto' (conv_gemm.cc's rule), or every
   * geometry by matrix products over the HWIO filter ('gemm') or by oneDNN's convolution
   * primitives ('primitive').
   */
  setConvAlgorithm(algorithm: 'auto' | 'gemm' | 'primitive'): void;
  /** filterKey (0: none) and generation name the filter's data for the addon's blocked copy of it. */
  conv2d(x: Float32Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array,
    geometry: Int32Array, relu: boolean, filterKey?: number, generation?: number): void;
  /** Frees the copies kept for filterKey (blocked, bfloat16); returns how many are kept. */
  releaseFilter(filterKey: number): number;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: Int32Array,
    filterKey?: number, generation?: number): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dfilter: Float32Array, geometry: Int32Array): void;
  [name: string]: unknown;
}

const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'tfjs_native.node');

/** The addon's path, or null when it was not built. */
export function findAddon(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

let loaded: NativeAddon | null | undefined;
let loadError = '';

/** The addon, or null (never throws) when it is not built or cannot load (e.g. libdnnl missing). */
export function loadAddon(): NativeAddon | null {
  if (loaded === undefined) {
    const path = findAddon();
    if (path === null) {
      loaded = null;
      loadError = `${ADDON_RELATIVE_PATH} not found (run \`npm run build:native\`)`;
    } else {
      // Idle OpenMP threads spin for a bounded time (libgomp's GOMP_SPINCOUNT, 300,000 turns,
      // ~8 ms here) before they sleep: a training step forks and joins ~700 parallel regions
      // microseconds apart, and waking sleeping threads each time cost 15% of the step
      // (docs/native-engine.md, "Threads"). The bound keeps idle processes from holding a core.
      // OMP_WAIT_POLICY=passive (sleep at once) suits a machine shared with other work.
      // Read by libgomp when the addon loads it.
      if (process.env.OMP_WAIT_POLICY === undefined) process.env.GOMP_SPINCOUNT ??= '300000';
      try {
        loaded = createRequire(import.meta.url)(path) as NativeAddon;
      } catch (e) {
        loaded = null;
        loadError = `${path} did not load: ${(e as Error).message}`;
      }
    }
  }
  return loaded;
}

/** Why loadAddon() returned null ('' when it did not). */
export function addonLoadError(): string {
  loadAddon();
  return loadError;
}

// ---- Inference plans (native/src/infer.cc; src/infer/native/executor.ts) ----------------------
// Kept as a separate block from the kernels' declarations above. Every function validates its
// arguments (ids, array lengths against dims) and throws a JavaScript Error on any failure.

/** A plan value's storage type: float32, bfloat16, or int8 (unsigned / signed) with a scale. */
export type PlanValueType = 'f32' | 'bf16' | 'u8' | 's8';

export interface InferenceAddon {
  /** A new, empty plan's id. */
  inferCreatePlan(): number;
  /** Frees a plan's buffers and packed weights (unknown ids are ignored). */
  inferDisposePlan(plan: number): void;
  /** Declares a value: dims [N, H, W, C] or [N, C]; scale: real = stored * scale (int8); bound: JavaScript gives its (float32) storage. */
  inferValue(plan: number, dims: Int32Array, type: PlanValueType, scale: number, bound: boolean): number;
  /**
   * y = conv(x, weights HWIO) + bias, ReLU (reluBefore), + residual value (-1: none), ReLU (reluAfter);
   * window: [KH, KW, strideH, strideW, dilationH, dilationW, padTop, padBottom, padLeft, padRight].
   * Returns the operation's index.
   */
  inferConv(plan: number, x: number, y: number, weights: Float32Array, bias: Float32Array | null, window: Int32Array,
    reluBefore: boolean, residual: number, reluAfter: boolean): number;
  /** Max or average pooling (padding cells ignored); a 2-D y is global pooling. */
  inferPool(plan: number, x: number, y: number, kind: 'max' | 'avg', window: Int32Array): number;
  inferBatchNorm(plan: number, x: number, y: number, mean: Float32Array, variance: Float32Array, gamma: Float32Array | null,
    beta: Float32Array | null, epsilon: number, relu: boolean): number;
  inferAdd(plan: number, a: number, b: number, y: number, relu: boolean): number;
  /** 'reorder' converts type, scale and layout. */
  inferUnary(plan: number, kind: 'relu' | 'reorder' | 'softmax' | 'flatten', x: number, y: number): number;
  /** Zeros around x; y's dims give the bottom and right padding. */
  inferPad(plan: number, x: number, y: number, top: number, left: number): number;
  inferDense(plan: number, x: number, y: number, weights: Float32Array, bias: Float32Array | null, relu: boolean): number;
  /** New parameters of a finalized Conv / Dense (weights, bias) or BatchNorm (mean, variance, gamma, beta). */
  inferSetParams(plan: number, op: number, ...params: (Float32Array | null)[]): void;
  /** Buffers by liveness, primitives, packed weights. */
  inferFinalize(plan: number): { slots: number; bytes: number; inPlace: number };
  /** The storage of a bound value from now on (the caller keeps the array alive while the plan runs). */
  inferBind(plan: number, value: number, values: Float32Array): void;
  /** Runs operations [from, to). */
  inferRun(plan: number, from: number, to: number): void;
  /** Records (or stops recording) every float32 output's minimum and maximum; resets them. */
  inferObserve(plan: number, on: boolean): void;
  /** [min, max] per value, flat (+-Infinity where none was observed). */
  inferRanges(plan: number): Float32Array;
  /** Returns the last profiled run's [kind, ms] per operation; `on` times the next runs. */
  inferProfile(plan: number, on: boolean): [string, number][];
  /** Whether int8 convolutions run with VNNI on this CPU. */
  inferInt8(): boolean;
}
