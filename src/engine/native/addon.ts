// Loads the oneDNN addon (native/build/Release/tfjs_native.node), found by walking up from this
// module to the package root, so that it works from src/ (tests) and dist/ alike.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Precision } from '../precision.js';

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
