// The addon's boundary: every export of native/build/Release/tfjs_native.node (native/src/*.cc)
// declared once, with its TypeScript signature, and loading, which checks that the built addon has
// each of them (a stale build is refused with a reason, not discovered mid-step). The addon is found
// by walking up from this module to the package root, so that it works from src/ (tests) and dist/.
//
// Every C++ entry point checks its arrays' lengths against the shapes and geometry it is given and
// throws a JS RangeError (TypeError for a wrong argument type); any other C++ failure (oneDNN, a
// failed allocation) throws a JS Error: none aborts Node (native/src/common.h, exportFunction).
// Arrays are read and written in place: no copies.
//
// Adding an export: one entry in ADDON_EXPORTS below, and the C++ function registered with
// exportFunction (common.h).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Precision } from '../precision.js';

/** An export's TypeScript type T, and what `typeof` says of it at run time. */
interface Declared<T> {
  readonly kind: 'function' | 'string';
  readonly type?: T;
}
const fn = <T extends (...args: never[]) => unknown>(): Declared<T> => ({ kind: 'function' });
const text = (): Declared<string> => ({ kind: 'string' });

type F32 = Float32Array;
/** Per-channel statistics or parameters (C floats), or null where the kernel takes none. */
type Channels = Float32Array | null;

/** Every export of the addon. */
const ADDON_EXPORTS = {
  /** oneDNN's version, e.g. '2.7.3'. */
  onednnVersion: text(),
  /** OpenMP threads of oneDNN's primitives and of the addon's own loops (0: unchanged, at most 1024); returns both. */
  setThreads: fn<(onednn: number, loops: number) => { onednn: number; loops: number }>(),

  // conv.cc, conv_gemm.cc. geometry: the 17 ints of conv.h's Geometry (conv.ts builds it).
  /** The convolutions' compute type from now on; false (float32 kept) where the CPU lacks bf16. */
  setConvPrecision: fn<(precision: Precision) => boolean>(),
  convPrecision: fn<() => Precision>(),
  /** The compute types this CPU offers, float32 first. */
  convPrecisions: fn<() => Precision[]>(),
  /**
   * How convolutions are computed from now on: 'auto' (conv_gemm.cc's rule), or every geometry by
   * matrix products over the HWIO filter ('gemm') or by oneDNN's convolution primitives ('primitive').
   */
  setConvAlgorithm: fn<(algorithm: 'auto' | 'gemm' | 'primitive') => void>(),
  /** y = act(conv(x, filter) + bias). filterKey (0: none) and generation name the filter's data for the addon's copies of it. */
  conv2d: fn<(x: F32, filter: F32, bias: Channels, y: F32, geometry: Int32Array, relu: boolean,
    filterKey?: number, generation?: number) => void>(),
  /** Frees the copies kept for filterKey (blocked, bfloat16); returns how many are kept. */
  releaseFilter: fn<(filterKey: number) => number>(),
  conv2dBackpropInput: fn<(dy: F32, filter: F32, dx: F32, geometry: Int32Array, filterKey?: number,
    generation?: number) => void>(),
  conv2dBackpropFilter: fn<(x: F32, dy: F32, dfilter: F32, geometry: Int32Array) => void>(),

  // matmul.cc
  /** out[b] = act(op(a[b]) op(b[b]) + bias); dims = [batch, M, N, K]. */
  matMul: fn<(a: F32, b: F32, bias: Channels, out: F32, dims: Int32Array, transposeA: boolean, transposeB: boolean,
    relu: boolean) => void>(),

  // pool.cc. geometry: [N, H, W, C, OH, OW, KH, KW, strideH, strideW, padTop, padLeft].
  maxPool: fn<(x: F32, y: F32, geometry: Int32Array) => void>(),
  maxPoolGrad: fn<(dy: F32, x: F32, dx: F32, geometry: Int32Array) => void>(),
  avgPool: fn<(x: F32, y: F32, geometry: Int32Array) => void>(),
  avgPoolGrad: fn<(dy: F32, dx: F32, geometry: Int32Array) => void>(),

  // elementwise.cc. op: the codes of its enums Binary / Unary (elementwise.ts).
  /** out = a op b; each of a, b has out's length or divides it (one of them a scalar when neither has it). */
  binary: fn<(op: number, a: F32, b: F32, out: F32) => void>(),
  /** out = (a + b) * step(y): the ReLU gradient of a sum, in one pass. */
  addReluGrad: fn<(a: F32, b: F32, y: F32, out: F32) => void>(),
  /** out = op(x); alpha is Step's value for x <= 0. */
  unary: fn<(op: number, x: F32, out: F32, alpha: number) => void>(),
  tile: fn<(x: F32, out: F32, shape: Int32Array, reps: Int32Array) => void>(),
  /** The block at `begin` inside `outer` (both row-major), copied into outer (intoOuter) or out of it. */
  copyBlock: fn<(outer: F32, outerShape: Int32Array, block: F32, blockShape: Int32Array, begin: Int32Array, intoOuter: boolean) => void>(),
  /** One of a, b has out's length, the other one value per row of `repeat` outputs. */
  binaryRows: fn<(op: number, a: F32, b: F32, out: F32, repeat: number) => void>(),
  softmax: fn<(logits: F32, out: F32, rowLength: number) => void>(),

  // reduce.cc: x viewed as [batch, reduced, kept].
  /** out[b, k] = scale * sum_r x[b, r, k]. */
  reduce: fn<(x: F32, out: F32, batch: number, reduced: number, kept: number, scale: number) => void>(),
  /** out[b, r, k] = scale * dy[b, k]. */
  spread: fn<(dy: F32, out: F32, batch: number, reduced: number, kept: number, scale: number) => void>(),

  // normalization.cc: C channels innermost.
  /** y = (x - mean) scale / sqrt(variance + epsilon) + offset, then + residual, then ReLU, in one pass. */
  batchNorm: fn<(x: F32, mean: F32, variance: F32, scale: Channels, offset: Channels, y: F32, epsilon: number,
    relu?: boolean, residual?: Float32Array | null) => void>(),
  batchNormGrad: fn<(x: F32, mean: F32, variance: F32, scale: Channels, dy: F32, epsilon: number, dx: F32,
    dmean: F32, dvariance: F32, dscale: F32, doffset: F32) => void>(),
  /** The gradient of batch norm with the batch's own statistics; dxSums (optional) receives dx's per-channel sums. */
  batchNormTrainingGrad: fn<(x: F32, mean: F32, variance: F32, scale: Channels, dy: F32, epsilon: number, dx: F32,
    dscale: F32, doffset: F32, dxSums?: Float32Array | null) => void>(),
  moments: fn<(x: F32, mean: F32, variance: F32, sumDeviation: F32) => void>(),
  momentsGrad: fn<(x: F32, mean: F32, sumDeviation: F32, dmean: F32, dvariance: F32, dx: F32) => void>(),

  // optimizer.cc
  /** Adam in place; hyper = [learningRate, beta1, beta2, epsilon, 1 - beta1^t, 1 - beta2^t]. */
  adam: fn<(value: F32, gradient: F32, m: F32, v: F32, hyper: F32) => void>(),
  /** Momentum SGD in place; hyper = [-learningRate, momentum, nesterov ? 1 : 0]. */
  momentum: fn<(value: F32, gradient: F32, accumulation: F32, hyper: F32) => void>(),

  // infer.cc: inference plans (InferenceAddon below has each signature and its documentation).
  inferCreatePlan: fn<InferenceAddon['inferCreatePlan']>(),
  inferDisposePlan: fn<InferenceAddon['inferDisposePlan']>(),
  inferValue: fn<InferenceAddon['inferValue']>(),
  inferConv: fn<InferenceAddon['inferConv']>(),
  inferPool: fn<InferenceAddon['inferPool']>(),
  inferBatchNorm: fn<InferenceAddon['inferBatchNorm']>(),
  inferAdd: fn<InferenceAddon['inferAdd']>(),
  inferUnary: fn<InferenceAddon['inferUnary']>(),
  inferPad: fn<InferenceAddon['inferPad']>(),
  inferDense: fn<InferenceAddon['inferDense']>(),
  inferSetParams: fn<InferenceAddon['inferSetParams']>(),
  inferFinalize: fn<InferenceAddon['inferFinalize']>(),
  inferBind: fn<InferenceAddon['inferBind']>(),
  inferRun: fn<InferenceAddon['inferRun']>(),
  inferObserve: fn<InferenceAddon['inferObserve']>(),
  inferRanges: fn<InferenceAddon['inferRanges']>(),
  inferProfile: fn<InferenceAddon['inferProfile']>(),
  inferInt8: fn<InferenceAddon['inferInt8']>(),
} as const;

/** What the addon exports (ADDON_EXPORTS's types). */
export type NativeAddon = {
  -readonly [K in keyof typeof ADDON_EXPORTS]: (typeof ADDON_EXPORTS)[K] extends Declared<infer T> ? T : never;
};

const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'tfjs_native.node');

/** A built addon's path (this one by default; e.g. 'resnet_jpeg.node' for the JPEG decoder), or null when it was not built. */
export function findAddon(file = 'tfjs_native.node'): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'native', 'build', 'Release', file);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The declared exports that `loaded` lacks or has with another type (a build older than this code). */
export function missingExports(loaded: object): string[] {
  return Object.entries(ADDON_EXPORTS).filter(([name, d]) => typeof (loaded as Record<string, unknown>)[name] !== d.kind).map(([name]) => name);
}

let loaded: NativeAddon | null | undefined;
let loadError = '';

/** The addon, or null (never throws) when it is not built, cannot load (e.g. libdnnl missing) or is stale. */
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
        const exports = createRequire(import.meta.url)(path) as Record<string, unknown>;
        const missing = missingExports(exports);
        if (missing.length > 0) throw new Error(`it is older than this code (no ${missing.join(', ')}): run \`npm run build:native\``);
        loaded = exports as NativeAddon;
      } catch (e) {
        loaded = null;
        loadError = `${path} did not load: ${(e as Error).message.split('\n')[0]}`;
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
