// Engine choice. Three TensorFlow.js backends can run the library's models:
//   native — oneDNN kernels through a Node addon (fastest; exists only where the addon was built),
//   wasm   — TensorFlow.js's WebAssembly engine, plus the training kernels it lacks (portable),
//   cpu    — TensorFlow.js's pure-JavaScript engine (the numerical reference; very slow).
// `useBackend('auto')` picks the first of these that loads.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { parsePrecision, type Precision } from './precision.js';
import '@tensorflow/tfjs-backend-cpu';

// Production mode: skips TF.js's debug checks and its advice to install tfjs-node, which cannot be
// installed here (its install step downloads libtensorflow) and which the native engine replaces.
tf.env().set('PROD', true);

export { isPrecision, parsePrecision, PRECISIONS, type Precision } from './precision.js';

export type EngineName = 'native' | 'wasm' | 'cpu';
export const ENGINES: readonly EngineName[] = ['native', 'wasm', 'cpu'];

/** Whether an engine registered, and if not, why (one line). */
interface Registration {
  ok: boolean;
  reason: string;
  /** A setting of the engine's that is invalid (e.g. RESNET_NATIVE_THREADS=abc): an error even for 'auto'. */
  error?: UserError;
}

/** Registers an engine with TensorFlow.js; resolves false (with the reason) where it cannot exist on this machine. */
const registrars: Record<EngineName, () => Promise<Registration>> = {
  native: async () => {
    const native = await import('./native/backend.js');
    if (!native.registerNativeBackend()) return { ok: false, reason: native.nativeUnavailableReason() };
    (await import('../infer/native/executor.js')).registerNativeInference(); // src/infer/: compiled prediction
    return { ok: true, reason: '' };
  },
  wasm: async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    (await import('./wasm/kernels.js')).registerWasmTrainingKernels();
    return { ok: true, reason: '' };
  },
  cpu: async () => ({ ok: true, reason: '' }),
};

const registrations = new Map<EngineName, Registration>();

async function register(name: EngineName): Promise<Registration> {
  if (!registrations.has(name)) {
    let result: Registration;
    try {
      result = await registrars[name]();
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0] || String(error);
      result = { ok: false, reason, error: error instanceof UserError ? error : undefined };
    }
    if (!result.ok && !result.reason) result.reason = 'it did not start (no reason given)';
    registrations.set(name, result);
  }
  return registrations.get(name)!;
}

/** The engines that load on this machine, fastest first. */
export async function availableBackends(): Promise<EngineName[]> {
  const out: EngineName[] = [];
  for (const name of ENGINES) if ((await register(name)).ok) out.push(name);
  return out;
}

export function isEngineName(name: string): name is EngineName {
  return (ENGINES as readonly string[]).includes(name);
}

/**
 * Makes `name` the active TensorFlow.js backend ('auto': the fastest available) and returns the
 * engine in use. Throws when the engine named cannot run here, and, even for 'auto', when an
 * engine's settings are invalid. When 'auto' passes over an engine it prints one line on stderr
 * saying why.
 */
export async function useBackend(name: EngineName | 'auto' = 'auto'): Promise<EngineName> {
  const candidates = name === 'auto' ? ENGINES : [name];
  const skipped: string[] = [];
  for (const candidate of candidates) {
    const registration = await register(candidate);
    if (registration.error) throw registration.error;
    if (!registration.ok && name !== 'auto') throw new Error(`engine '${name}' is not available on this machine: ${registration.reason}`);
    if (!registration.ok) {
      skipped.push(`'${candidate}' is not available: ${registration.reason}`);
      continue;
    }
    if (!(await tf.setBackend(candidate))) {
      skipped.push(`'${candidate}' did not start`);
      continue;
    }
    await tf.ready();
    if (skipped.length > 0) console.warn(`resnet: using engine '${candidate}': ${skipped.join('; ')}`);
    return candidate;
  }
  throw new Error(name === 'auto' ? `no TensorFlow.js engine could be started: ${skipped.join('; ')}` : `engine '${name}' did not start`);
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
  if (engine !== 'native' || !(await register('native')).ok) return ['float32'];
  return (await import('./native/backend.js')).nativePrecisions();
}

/** Why `engine` does not load here, in one line ('' when it does). */
export async function engineUnavailableReason(engine: EngineName): Promise<string> {
  return (await register(engine)).reason;
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
