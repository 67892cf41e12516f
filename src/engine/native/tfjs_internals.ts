// The TensorFlow.js internals the native engine relies on, and the check made before it registers:
// the running tfjs must be the exact version its patches were written and tested for, and each
// internal it patches or reads must be where it expects it. docs/native-engine.md ("What it changes
// in TensorFlow.js") lists every patch, why it is not a public hook, and the test that checks it.
import { createRequire } from 'node:module';

/** The TensorFlow.js version the patches were written for; package.json pins all four packages to it. */
export const PINNED_TFJS_VERSION = '4.22.0';

export type TfjsVersions = Record<'tfjs-core' | 'tfjs-layers' | 'tfjs-backend-cpu', string>;

const load = createRequire(import.meta.url);

/**
 * The running packages' versions as they report them, read from their CommonJS exports: the
 * objects that tfjs-layers calls through and that the patches change.
 */
export function runningTfjsVersions(): TfjsVersions {
  return {
    'tfjs-core': String(load('@tensorflow/tfjs-core').version_core),
    'tfjs-layers': String(load('@tensorflow/tfjs-layers').version_layers),
    'tfjs-backend-cpu': String(load('@tensorflow/tfjs-backend-cpu').version_cpu),
  };
}

/** Why the native engine refuses these versions, in one line ('' when each is the pinned one). */
export function tfjsVersionRefusal(versions: TfjsVersions): string {
  const other = Object.entries(versions).filter(([, version]) => version !== PINNED_TFJS_VERSION);
  if (other.length === 0) return '';
  return `${other.map(([p, v]) => `${p} ${v}`).join(', ')} is installed, and its patches of TensorFlow.js internals are written for ` +
    `${PINNED_TFJS_VERSION} exactly (docs/native-engine.md, "What it changes in TensorFlow.js")`;
}

/** What each patch or read needs: a name for messages, and a test of its presence. */
function internals(): Array<[string, () => boolean]> {
  const core = load('@tensorflow/tfjs-core');
  const writableFunction = (owner: object, name: string) => {
    const d = Object.getOwnPropertyDescriptor(owner, name);
    return d !== undefined && typeof d.value === 'function' && d.writable === true;
  };
  const engine = () => core.engine();
  return [
    ['AdamOptimizer.prototype.applyGradients', () => writableFunction(core.AdamOptimizer.prototype, 'applyGradients')],
    ['fused.conv2d (CommonJS export)', () => writableFunction(core.fused, 'conv2d')],
    ['moments (CommonJS export)', () => writableFunction(core, 'moments')],
    ['batchNorm2d/3d/4d (CommonJS exports)', () => ['batchNorm2d', 'batchNorm3d', 'batchNorm4d'].every((n) => writableFunction(core, n))],
    ['Engine.clone', () => typeof engine().clone === 'function'],
    ['Engine.state.gradientDepth', () => typeof engine().state.gradientDepth === 'number'],
    ['Engine.registeredVariables', () => typeof engine().registeredVariables === 'object'],
    ['the gradients of Relu, Mean, FusedBatchNorm and Square', () =>
      ['Relu', 'Mean', 'FusedBatchNorm', 'Square'].every((k) => typeof core.getGradient(k)?.gradFunc === 'function')],
    ['BatchNormalization.prototype.call (serialization registry)', () =>
      typeof core.serialization.SerializationMap.getMap().classNameMap.BatchNormalization?.[0]?.prototype?.call === 'function'],
  ];
}

/** The internals that are not where the patches expect them (none with the pinned version). */
export function missingInternals(): string[] {
  load('@tensorflow/tfjs-layers'); // registers BatchNormalization
  return internals().filter(([, present]) => {
    try {
      return !present();
    } catch {
      return true;
    }
  }).map(([name]) => name);
}
