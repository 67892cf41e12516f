// The 'native' TensorFlow.js engine: the cpu backend's storage and kernels, with the hot kernels of
// ResNet training replaced by oneDNN / OpenMP ones from the addon in native/ (see docs/native-engine.md).
import * as tf from '../../tf.js';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BufferPool } from './buffers.js';
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
import { installFusedAdam } from './optimizer.js';
import { poolKernels } from './pool.js';
import { reduceKernels } from './reduce.js';

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
    ...normalizationKernels(addon), ...padKernels(), ...matMulKernels(addon) };
}

let registered = false;

/**
 * Thread counts from the environment: RESNET_NATIVE_THREADS for oneDNN's convolutions (default:
 * OpenMP's, all cores) and RESNET_NATIVE_LOOP_THREADS for the memory-bound element-wise loops
 * (default: the same count; on a machine busy with other work one thread is often faster, as
 * waiting for a descheduled second thread costs more than it saves; see docs/native-engine.md).
 */
function configureThreads(addon: NativeAddon): void {
  const count = (name: string): number => {
    const n = Number(process.env[name] ?? 0);
    return Number.isInteger(n) && n > 0 ? n : 0;
  };
  const onednn = count('RESNET_NATIVE_THREADS');
  addon.setThreads(onednn, count('RESNET_NATIVE_LOOP_THREADS') || onednn || addon.setThreads(0, 0).onednn);
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
 * Registers the 'native' backend. Returns false (never throws) when the addon is not built or
 * cannot load; `nativeUnavailableReason()` then says why.
 */
export function registerNativeBackend(): boolean {
  if (registered) return true;
  try {
    const addon = loadAddon();
    if (!addon) return false;
    configureThreads(addon);
    if (process.env.RESNET_NATIVE_PRECISION === 'bfloat16') addon.setConvPrecision('bfloat16');
    tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(addon), BACKEND_PRIORITY);
    const natives = nativeKernels(addon);
    for (const config of tf.getKernelsForBackend('cpu')) {
      const kernelFunc = natives[config.kernelName] ?? config.kernelFunc;
      tf.registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME, kernelFunc });
    }
    installFusedAdam(addon, NATIVE_BACKEND_NAME);
    installNativeGradients(addon, NATIVE_BACKEND_NAME);
    installNativeMoments(addon, NATIVE_BACKEND_NAME);
    installNativeBatchNormTraining(addon, NATIVE_BACKEND_NAME);
    installNativeFusedConv(NATIVE_BACKEND_NAME);
    installCheapSavedTensors(NATIVE_BACKEND_NAME);
    installNativeBatchNormLayer(NATIVE_BACKEND_NAME);
    registered = true;
    return true;
  } catch {
    return false;
  }
}

/** Why registerNativeBackend() returned false ('' when the addon loads). */
export function nativeUnavailableReason(): string {
  return addonLoadError();
}
