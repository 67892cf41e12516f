// Engine choice. Three TensorFlow.js backends can run the library's models:
//   native — oneDNN kernels through a Node addon (fastest; exists only where the addon was built),
//   wasm   — TensorFlow.js's WebAssembly engine, plus the training kernels it lacks (portable),
//   cpu    — TensorFlow.js's pure-JavaScript engine (the numerical reference; very slow).
// `useBackend('auto')` picks the first of these that loads.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import '@tensorflow/tfjs-backend-cpu';

// Production mode: skips TF.js's debug checks and its advice to install tfjs-node, which cannot be
// installed here (its install step downloads libtensorflow) and which the native engine replaces.
tf.env().set('PROD', true);

export type EngineName = 'native' | 'wasm' | 'cpu';
export const ENGINES: readonly EngineName[] = ['native', 'wasm', 'cpu'];

/** Registers an engine with TensorFlow.js; resolves false where it cannot exist on this machine. */
const registrars: Record<EngineName, () => Promise<boolean>> = {
  native: async () => {
    const ok = (await import('./native/backend.js')).registerNativeBackend();
    if (ok) (await import('../infer/native/executor.js')).registerNativeInference(); // src/infer/: compiled prediction
    return ok;
  },
  wasm: async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    (await import('./wasm/kernels.js')).registerWasmTrainingKernels();
    return true;
  },
  cpu: async () => true,
};

const registered = new Map<EngineName, boolean>();

async function register(name: EngineName): Promise<boolean> {
  if (!registered.has(name)) {
    let ok = false;
    try {
      ok = await registrars[name]();
    } catch {
      ok = false;
    }
    registered.set(name, ok);
  }
  return registered.get(name)!;
}

/** The engines that load on this machine, fastest first. */
export async function availableBackends(): Promise<EngineName[]> {
  const out: EngineName[] = [];
  for (const name of ENGINES) if (await register(name)) out.push(name);
  return out;
}

export function isEngineName(name: string): name is EngineName {
  return (ENGINES as readonly string[]).includes(name);
}

/**
 * Makes `name` the active TensorFlow.js backend ('auto': the fastest available) and returns the
 * engine in use. Throws when the engine named cannot run here.
 */
export async function useBackend(name: EngineName | 'auto' = 'auto'): Promise<EngineName> {
  const candidates = name === 'auto' ? ENGINES : [name];
  for (const candidate of candidates) {
    if ((await register(candidate)) && (await tf.setBackend(candidate))) {
      await tf.ready();
      return candidate;
    }
  }
  throw new Error(
    name === 'auto'
      ? 'no TensorFlow.js engine could be started'
      : `engine '${name}' is not available on this machine` +
          (name === 'native' ? ' (the oneDNN addon is not built: see README, "The native engine")' : ''),
  );
}

/** What the convolutions multiply in: float32, or bfloat16 mixed precision (native engine only). */
export type Precision = 'float32' | 'bfloat16';
export const PRECISIONS: readonly Precision[] = ['float32', 'bfloat16'];

export function isPrecision(name: string): name is Precision {
  return (PRECISIONS as readonly string[]).includes(name);
}

/** `value` as a Precision, or a UserError naming the option (for the CLI and the trainer's options). */
export function parsePrecision(value: string): Precision {
  if (!isPrecision(value)) throw new UserError(`--precision must be one of ${PRECISIONS.join(', ')}; got '${value}'`);
  return value;
}

/**
 * Sets the convolution precision of `engine` (the one in use). float32 is every engine's own;
 * bfloat16 needs the native engine on a CPU with bfloat16 instructions, and throws otherwise.
 */
export async function usePrecision(engine: EngineName, precision: Precision): Promise<void> {
  if (engine !== 'native') {
    if (precision === 'float32') return;
    throw new Error(`precision ${precision} needs the native engine (the ${engine} engine computes in float32)`);
  }
  const { setNativePrecision } = await import('./native/backend.js');
  if (!setNativePrecision(precision)) {
    throw new Error(`precision ${precision} is not available: this CPU has no bfloat16 instructions (AVX512_BF16)`);
  }
}

/**
 * The precisions `engine` can compute in on this machine (float32 everywhere; bfloat16 on the
 * native engine where the CPU has AVX512_BF16).
 */
export async function enginePrecisions(engine: EngineName): Promise<Precision[]> {
  if (engine !== 'native' || !(await register('native'))) return ['float32'];
  return (await import('./native/backend.js')).nativePrecisions();
}

/** Why `engine` does not load here ('' when it does). */
export async function engineUnavailableReason(engine: EngineName): Promise<string> {
  if (await register(engine)) return '';
  if (engine === 'native') return (await import('./native/backend.js')).nativeUnavailableReason();
  return 'it did not start';
}

/**
 * The CLI's way in: `useBackend` and `usePrecision` for option values as typed, with every refusal
 * (unknown name, engine or precision not available here) as a UserError (one line, exit 2).
 */
export async function startEngine(name: string, precision: string = 'float32'): Promise<EngineName> {
  if (name !== 'auto' && !isEngineName(name)) throw new UserError(`--backend must be one of auto, ${ENGINES.join(', ')}; got '${name}'`);
  const type = parsePrecision(precision);
  try {
    const engine = await useBackend(name);
    await usePrecision(engine, type);
    return engine;
  } catch (error) {
    throw new UserError((error as Error).message);
  }
}
