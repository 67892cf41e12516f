// Fused Adam and momentum SGD updates for the native engine. TensorFlow.js's AdamOptimizer runs ~12
// element-wise kernels per variable (each a full pass over it); on ResNet-50's 23.5 M parameters that
// is most of a step's memory traffic. Its MomentumOptimizer runs ~5 kernels and two assignments per
// variable; on ResNet-20's 59 small variables that is 12 ms of JavaScript a step (of ~220 ms). While
// the 'native' backend is active, applyGradients instead makes one in-place pass per variable (same
// formula, same state variables and names), where no other tensor shares the storage it writes;
// otherwise the original runs.
import * as tf from '../../tf.js';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';
import { f32 } from './kernel_util.js';

/** The AdamOptimizer fields the update reads (they are protected in tfjs-core's typings). */
interface AdamState {
  learningRate: number; beta1: number; beta2: number; epsilon: number;
  accBeta1: tf.Variable; accBeta2: tf.Variable;
  accumulatedFirstMoment: Slots;
  accumulatedSecondMoment: Slots;
  incrementIterations(): void;
}
type Gradients = tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>;

/** Storage that may be updated in place: float32 and referenced by this tensor only. */
function ownStorage(backend: MathBackendCPU, t: tf.Tensor): Float32Array | null {
  const values = f32(backend, t);
  return values && backend.data.get(t.dataId).refCount === 1 ? values : null;
}

/** One optimizer state array of tfjs's: a variable per optimized variable, by index. */
type Slots = Array<{ originalName: string; variable: tf.Variable } | undefined>;

/**
 * The arrays of one fused update: for each variable with a gradient, [value, gradient, ...its
 * state], one per `slots` entry, in that order. The state variables are made exactly as tfjs's
 * optimizers make them (zeros named `${name}/${suffix}`, for every variable, with a gradient or not),
 * so that getWeights/setWeights agree. Null where any array may not be updated in place: then the
 * original update runs, and nothing has been written.
 */
function collectUpdates(gradients: Gradients, slots: Array<[Slots, string]>, backend: MathBackendCPU): Float32Array[][] | null {
  const names = Array.isArray(gradients) ? gradients.map((g) => g.name) : Object.keys(gradients);
  const list: Float32Array[][] = [];
  for (const [i, name] of names.entries()) {
    const value = tf.engine().registeredVariables[name];
    for (const [state, suffix] of slots) {
      state[i] ??= { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    }
    const gradient = Array.isArray(gradients) ? gradients[i].tensor : gradients[name];
    if (gradient == null) continue;
    const arrays = [ownStorage(backend, value), f32(backend, gradient), ...slots.map(([state]) => ownStorage(backend, state[i]!.variable))];
    if (arrays.some((a) => a === null) || arrays[1]!.length !== arrays[0]!.length) return null;
    list.push(arrays as Float32Array[]);
  }
  return list;
}

function fusedAdamStep(opt: AdamState, gradients: Gradients, addon: NativeAddon, backend: MathBackendCPU): boolean {
  const updateList = collectUpdates(gradients, [[opt.accumulatedFirstMoment, 'm'], [opt.accumulatedSecondMoment, 'v']], backend);
  if (updateList === null) return false;
  const accBeta1 = opt.accBeta1.dataSync()[0], accBeta2 = opt.accBeta2.dataSync()[0];
  const hyper = Float32Array.from([opt.learningRate, opt.beta1, opt.beta2, opt.epsilon, 1 - accBeta1, 1 - accBeta2]);
  updates++; // before the writes: a cached copy of these weights is stale from here on
  for (const [value, gradient, m, v] of updateList) addon.adam(value, gradient, m, v, hyper);
  tf.tidy(() => {
    opt.accBeta1.assign(tf.mul(opt.accBeta1, opt.beta1));
    opt.accBeta2.assign(tf.mul(opt.accBeta2, opt.beta2));
  });
  opt.incrementIterations();
  return true;
}

/** The MomentumOptimizer fields the update reads (protected in tfjs-core's typings). */
interface MomentumState {
  learningRate: number; momentum: number; useNesterov: boolean;
  accumulations: Slots;
  incrementIterations(): void;
}

function fusedMomentumStep(opt: MomentumState, gradients: Gradients, addon: NativeAddon, backend: MathBackendCPU): boolean {
  const updateList = collectUpdates(gradients, [[opt.accumulations, 'momentum']], backend);
  if (updateList === null) return false;
  const hyper = Float32Array.from([-opt.learningRate, opt.momentum, opt.useNesterov ? 1 : 0]);
  updates++; // before the writes: a cached copy of these weights is stale from here on
  for (const [value, gradient, accumulation] of updateList) addon.momentum(value, gradient, accumulation, hyper);
  opt.incrementIterations();
  return true;
}

let updates = 0;

/**
 * How many in-place updates of variables the engine has made (the fused optimizer's, and the batch
 * norm layers' moving averages): the only writes to a tensor's data after it was made (conv.ts
 * keys cached filter layouts on it).
 */
export function inPlaceUpdates(): number {
  return updates;
}

/** Called before any other in-place write to a variable's data (batch_norm_layer.ts). */
export function noteInPlaceUpdate(): void {
  updates++;
}

let installed = false;

/** Replaces `proto`'s applyGradients by `fused` while the backend named `backendName` is active (where it can). */
function patchApplyGradients<State>(proto: unknown, backendName: string,
  fused: (state: State, gradients: Gradients, backend: MathBackendCPU) => boolean): void {
  const target = proto as { applyGradients(g: Gradients): void };
  const original = target.applyGradients;
  target.applyGradients = function (this: State, gradients: Gradients): void {
    if (tf.getBackend() === backendName && fused(this, gradients, tf.backend() as MathBackendCPU)) return;
    original.call(this, gradients);
  };
}

/** Makes AdamOptimizer and MomentumOptimizer use the fused updates while the backend named `backendName` is active. */
export function installFusedOptimizers(addon: NativeAddon, backendName: string): void {
  if (installed) return;
  installed = true;
  patchApplyGradients<AdamState>(tf.AdamOptimizer.prototype, backendName, (opt, g, backend) => fusedAdamStep(opt, g, addon, backend));
  patchApplyGradients<MomentumState>(tf.MomentumOptimizer.prototype, backendName, (opt, g, backend) => fusedMomentumStep(opt, g, addon, backend));
}
