// The 'native' TensorFlow.js engine: the cpu backend's storage and kernels, with the hot kernels of
// ResNet training replaced by oneDNN / OpenMP ones from the addon in native/ (see docs/native-engine.md).
import * as tf from '../../tf.js';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BufferPool, defaultPoolLimitBytes } from './buffers.js';
import { isMainThread } from 'node:worker_threads';
import { UserError } from '../../errors.js';
import { addonLoadError, loadAddon, type NativeAddon } from './addon.js';
import type { Precision } from '../precision.js';
import { convKernels, releaseFilter } from './conv.js';
import { disposeDeferred } from './deferred.js';
import { elementwiseKernels } from './elementwise.js';
import { matMulKernels } from './matmul.js';
import { installNativeGradients } from './gradients.js';
import { normalizationKernels } from './normalization.js';
import { padKernels } from './pad.js';
import { installNativeFusedConv } from './fused_conv.js';
import { installNativeBatchNormTraining } from './batch_norm_training.js';
import { installNativeMoments } from './moments.js';
import { installCheapSavedTensors } from './tape.js';
import { installNativeBatchNormLayer } from './batch_norm_layer.js';
import { installFusedOptimizers } from './optimizer.js';
import { poolKernels } from './pool.js';
import { reduceKernels } from './reduce.js';
import { readNativeSettings, type NativeSettings } from './settings.js';
import { missingInternals, runningTfjsVersions, tfjsVersionRefusal } from './tfjs_internals.js';

export const NATIVE_BACKEND_NAME = 'native';
/** Priority among registered backends: below 'cpu' (1), so nothing picks it unless asked. */
const BACKEND_PRIORITY = 0;

/**
 * The cpu backend's tensor storage (Float32Arrays in JS memory), which the addon reads and writes
 * in place, plus recycling of the native kernels' output arrays (see buffers.ts).
 */
export class NativeBackend extends MathBackendCPU {
  readonly buffers = new BufferPool();

  constructor(private readonly addon: NativeAddon) {
    super();
    // The cpu backend's first write() advises installing tfjs-node: not advice for this engine.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    const dataId = super.write(values, shape, dtype);
    this.buffers.retain(values);
    return dataId;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    // A deferred output (deferred.ts) is dropped uncomputed: reading its values would compute it.
    const deferred = disposeDeferred(this, dataId, () => super.disposeData(dataId, force));
    if (deferred !== undefined) return deferred;
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (released && values !== undefined && !this.data.has(dataId)) {
      this.buffers.release(values);
      releaseFilter(this.addon, dataId);
    }
    return released;
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    if (this.data.has(dataId)) this.buffers.escape(this.data.get(dataId).values);
    return super.readSync(dataId);
  }

  override async read(dataId: tf.DataId): Promise<tf.backend_util.BackendValues> {
    return this.readSync(dataId);
  }
}

/** The native kernels, by TensorFlow.js kernel name; each falls back to the cpu kernel where it does not apply. */
export function nativeKernels(addon: NativeAddon): Record<string, tf.KernelFunc> {
  return { ...convKernels(addon), ...poolKernels(addon), ...elementwiseKernels(addon), ...reduceKernels(addon),
    ...normalizationKernels(addon), ...padKernels(addon), ...matMulKernels(addon) };
}

let registered = false;
/** Why the engine was refused ('' until a registration fails). */
let refusal = '';

/** Applies the thread settings (0: OpenMP's default for oneDNN; the loops default to oneDNN's count). */
function configureThreads(addon: NativeAddon, settings: NativeSettings): void {
  const onednn = settings.threads;
  addon.setThreads(onednn, settings.loopThreads || onednn || addon.setThreads(0, 0).onednn);
}

/**
 * What the native engine's convolutions multiply in: 'float32', or 'bfloat16' mixed precision
 * (operands rounded to bfloat16, float32 accumulation and results; weights, batch norm and the
 * optimizer stay float32). See docs/native-engine.md, "Mixed precision".
 */
export type NativePrecision = Precision;

/**
 * Sets the native engine's convolution precision. Returns false where it cannot be had: no addon,
 * or 'bfloat16' on a CPU without bfloat16 instructions (AVX512_BF16); float32 stays then.
 */
export function setNativePrecision(precision: NativePrecision): boolean {
  return loadAddon()?.setConvPrecision(precision) ?? false;
}

/** The precisions the native engine offers on this CPU ([] when the addon is not loaded). */
export function nativePrecisions(): NativePrecision[] {
  return loadAddon()?.convPrecisions() ?? [];
}

/** The native engine's convolution precision, or null when the addon is not loaded. */
export function nativePrecision(): NativePrecision | null {
  return loadAddon()?.convPrecision() ?? null;
}

/** The native engine's thread counts, or null when the addon is not loaded. */
export function nativeThreads(): { onednn: number; loops: number } | null {
  return loadAddon()?.setThreads(0, 0) ?? null;
}

/**
 * Why the native engine cannot run in this process, checked in this order ('' when it can):
 * a worker thread (the addon's state is process-wide: docs/native-engine.md, "One thread"), a
 * TensorFlow.js other than the pinned version or without the internals the engine patches, the
 * addon not built or not loading.
 */
function refusalReason(): string {
  if (!isMainThread) {
    return 'it runs on the main thread only (its oneDNN caches and scratch buffers are process-wide), not in a worker_threads Worker; use wasm or cpu there';
  }
  const versions = tfjsVersionRefusal(runningTfjsVersions());
  if (versions) return versions;
  const missing = missingInternals();
  if (missing.length > 0) return `TensorFlow.js lacks internals it patches: ${missing.join(', ')}`;
  return addonLoadError();
}

/**
 * Registers the 'native' backend. Returns false when it cannot run here (see refusalReason;
 * `nativeUnavailableReason()` says why, in one line). Throws a UserError when one of its
 * environment variables is set to a value it cannot use (settings.ts, buffers.ts).
 */
export function registerNativeBackend(): boolean {
  if (registered) return true;
  if (refusal) return false;
  refusal = refusalReason();
  const addon = refusal ? null : loadAddon();
  if (!addon) return false;
  const settings = readNativeSettings();
  defaultPoolLimitBytes(); // checks RESNET_NATIVE_POOL_MB now rather than when the backend starts
  if (settings.precision !== null && !addon.setConvPrecision(settings.precision)) {
    throw new UserError(`RESNET_NATIVE_PRECISION=${settings.precision} is not available: this CPU has no bfloat16 instructions (AVX512_BF16)`);
  }
  try {
    configureThreads(addon, settings);
    tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(addon), BACKEND_PRIORITY);
    const natives = nativeKernels(addon);
    for (const config of tf.getKernelsForBackend('cpu')) {
      const kernelFunc = natives[config.kernelName] ?? config.kernelFunc;
      tf.registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME, kernelFunc });
    }
    installFusedOptimizers(addon, NATIVE_BACKEND_NAME);
    installNativeGradients(addon, NATIVE_BACKEND_NAME);
    installNativeMoments(addon, NATIVE_BACKEND_NAME);
    installNativeBatchNormTraining(addon, NATIVE_BACKEND_NAME);
    installNativeFusedConv(NATIVE_BACKEND_NAME);
    installCheapSavedTensors(NATIVE_BACKEND_NAME);
    installNativeBatchNormLayer(NATIVE_BACKEND_NAME);
  } catch (error) {
    refusal = `its registration failed: ${(error as Error).message.split('\n')[0] || (error as Error).name}`;
    return false;
  }
  registered = true;
  return true;
}

/** Why registerNativeBackend() returned false, in one line ('' when it registered or was not tried). */
export function nativeUnavailableReason(): string {
  return registered ? '' : refusal || refusalReason();
}
