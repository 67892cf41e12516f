// Engine choice in a web browser (the Node twin is backends.ts, whose native engine is a Node addon).
// Four TensorFlow.js backends can run the library's models in a page, tried in this order by 'auto':
//   webgpu — the GPU through WebGPU (only where the browser has a GPU adapter),
//   webgl  — the GPU through WebGL; skipped by 'auto' when WebGL is software-rendered (SwiftShader,
//            llvmpipe: no GPU), which is slower than wasm, but still selectable by name,
//   wasm   — TensorFlow.js's WebAssembly engine (SIMD; threads where the page is cross-origin
//            isolated) plus this project's training kernels (src/engine/wasm/),
//   cpu    — the pure-JavaScript reference.
// Each backend package is imported only when its engine is tried, so a bundle splits them out.
import * as tf from '../tf.js';
import '@tensorflow/tfjs-backend-cpu';

tf.env().set('PROD', true);

export type BrowserEngine = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BROWSER_ENGINES: readonly BrowserEngine[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** What probing an engine found: '' when it can start, else why not; `software` for a WebGL without GPU. */
export interface Probe {
  reason: string;
  software?: boolean;
  detail?: string;
}

/** Registers an engine's backend with TensorFlow.js, or says why it cannot exist here. */
export type Registrar = () => Promise<Probe>;

export interface EngineStatus {
  name: BrowserEngine;
  /** '' when the engine can start here. */
  reason: string;
  /** Started by 'auto' when nothing before it did (false for software WebGL). */
  auto: boolean;
  detail?: string;
}

/** Where the wasm engine fetches its .wasm files (a folder URL ending in '/'); unset: TF.js's default. */
let wasmBase: string | undefined;

/** Serves the wasm engine's .wasm files from `url` (a folder); call before the engine starts. */
export function setWasmBase(url: string): void {
  wasmBase = url.endsWith('/') ? url : `${url}/`;
}

/** Threads of the wasm engine in a cross-origin isolated page; unset: one per logical core. */
let wasmThreadCount: number | undefined;

/**
 * Sets the wasm engine's threads (call before it starts). TF.js 4.22 caps its thread pool at half
 * of navigator.hardwareConcurrency, assuming two hyperthreads per core (one thread on a 2-core
 * machine); this module's default is one thread per logical core.
 */
export function setWasmThreads(count: number): void {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`wasm threads must be a positive integer, got ${count}`);
  wasmThreadCount = count;
}

/**
 * The engine's C++ start-up reads navigator.hardwareConcurrency once and allows half of it as
 * threads. While its backend starts, navigator reports twice the threads wanted, so the cap lets
 * them through; afterwards the real value is back (the override is an own property, deleted).
 */
function liftThreadCap(navigator: { hardwareConcurrency?: number }, threads: number): void {
  const factory = tf.findBackendFactory('wasm');
  if (!factory) return;
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * threads, configurable: true });
      try {
        return await factory();
      } finally {
        delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
      }
    },
    2,
  );
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

function webglContext(): { gl: WebGLRenderingContext | WebGL2RenderingContext | null; lose(): void } {
  const canvas: OffscreenCanvas | HTMLCanvasElement | null =
    typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : typeof document !== 'undefined' ? document.createElement('canvas') : null;
  if (!canvas) return { gl: null, lose() {} };
  const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | WebGL2RenderingContext | null;
  return { gl, lose: () => gl?.getExtension('WEBGL_lose_context')?.loseContext() };
}

/** The registrars of a real browser (in Node, webgpu and webgl report why they cannot exist). */
export const BROWSER_REGISTRARS: Record<BrowserEngine, Registrar> = {
  webgpu: async () => {
    const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
    if (!gpu) return { reason: 'this browser has no WebGPU (navigator.gpu is missing; it needs a secure context and GPU support)' };
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (!adapter) return { reason: 'WebGPU found no GPU adapter on this machine' };
    await import('@tensorflow/tfjs-backend-webgpu');
    return { reason: '' };
  },
  webgl: async () => {
    const { gl, lose } = webglContext();
    if (!gl) return { reason: 'no WebGL context here' };
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    lose();
    await import('@tensorflow/tfjs-backend-webgl');
    return { reason: '', software: /swiftshader|llvmpipe|softpipe|software/i.test(renderer), detail: renderer };
  },
  wasm: async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (wasmBase !== undefined) wasm.setWasmPaths(wasmBase);
    // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP headers).
    const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
    if (g.crossOriginIsolated === true && g.navigator) {
      const threads = wasmThreadCount ?? g.navigator.hardwareConcurrency ?? 1;
      wasm.setThreadsCount(threads);
      liftThreadCap(g.navigator, threads);
    }
    (await import('./wasm/kernels.js')).registerWasmTrainingKernels();
    return { reason: '' };
  },
  cpu: async () => ({ reason: '' }),
};

/**
 * An engine chooser over a set of registrars (the browser's by default; tests pass fakes to show
 * that WebGPU is chosen where present and skipped cleanly where absent).
 */
export function engineRegistry(registrars: Record<BrowserEngine, Registrar> = BROWSER_REGISTRARS) {
  const probes = new Map<BrowserEngine, Promise<Probe>>();
  const probe = (name: BrowserEngine): Promise<Probe> => {
    if (!probes.has(name)) {
      probes.set(
        name,
        registrars[name]().catch((error: unknown) => ({ reason: `it did not start (${String((error as Error)?.message ?? error).split('\n')[0]})` })),
      );
    }
    return probes.get(name)!;
  };
  /** Engines that failed tf.setBackend after registering (no device, context lost), with why. */
  const failed = new Map<BrowserEngine, string>();

  async function status(name: BrowserEngine): Promise<EngineStatus> {
    const p = await probe(name);
    const reason = failed.get(name) ?? p.reason;
    const software = reason === '' && p.software === true;
    return { name, reason, auto: reason === '' && !software, detail: software ? `software-rendered (${p.detail}): slower than wasm, so 'auto' skips it` : p.detail };
  }

  return {
    /** Every engine with whether it can start here, and why not. */
    async report(): Promise<EngineStatus[]> {
      return Promise.all(BROWSER_ENGINES.map(status));
    },
    /** The engines that can start here, in 'auto' order. */
    async available(): Promise<BrowserEngine[]> {
      return (await this.report()).filter((s) => s.reason === '').map((s) => s.name);
    },
    /**
     * Makes `name` the active backend ('auto': the first engine in BROWSER_ENGINES that starts and
     * is not software WebGL) and returns it. Throws when the engine named cannot run here.
     */
    async use(name: BrowserEngine | 'auto' = 'auto'): Promise<BrowserEngine> {
      const candidates = name === 'auto' ? BROWSER_ENGINES : [name];
      const why: string[] = [];
      for (const candidate of candidates) {
        const s = await status(candidate);
        if (s.reason !== '' || (name === 'auto' && !s.auto)) {
          why.push(`${candidate}: ${s.reason || s.detail}`);
          continue;
        }
        if (await tf.setBackend(candidate)) {
          await tf.ready();
          return candidate;
        }
        failed.set(candidate, 'it was registered but did not start (no device or context)');
        why.push(`${candidate}: ${failed.get(candidate)}`);
      }
      throw new Error(`engine '${name}' cannot run here (${why.join('; ')})`);
    },
  };
}

const defaultRegistry = engineRegistry();

/** Makes `name` the active engine in this browser ('auto': the fastest that runs here); returns it. */
export function useBackend(name: BrowserEngine | 'auto' = 'auto'): Promise<BrowserEngine> {
  return defaultRegistry.use(name);
}

/** The engines that can start in this browser, fastest first. */
export function availableBackends(): Promise<BrowserEngine[]> {
  return defaultRegistry.available();
}

/** Every engine, with why it cannot start here ('' when it can). */
export function engineReport(): Promise<EngineStatus[]> {
  return defaultRegistry.report();
}

export function isBrowserEngine(name: string): name is BrowserEngine {
  return (BROWSER_ENGINES as readonly string[]).includes(name);
}

/** Threads of the wasm engine once it has started (1 without cross-origin isolation), else null. */
export async function wasmThreads(): Promise<number | null> {
  try {
    return (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
  } catch {
    return null;
  }
}
