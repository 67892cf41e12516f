// Helpers shared by the native kernel families: zero-copy access to a tensor's Float32Array in the
// cpu backend's storage, output allocation, and falling back to the 'cpu' kernel for the cases a
// native kernel does not cover.
import * as tf from '../../tf.js';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: MathBackendCPU; attrs?: tf.NamedAttrMap };
export type NativeKernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | null;

/** The float32 storage of a tensor (shared, not copied), or null when it is not float32. */
export function f32(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/**
 * An array for `size` output floats: on the native backend from its buffer pool (arbitrary
 * contents: the caller must write every element), elsewhere a new one.
 */
export function outputArray(backend: MathBackendCPU, size: number): Float32Array {
  const pool = (backend as { buffers?: { take(length: number): Float32Array } }).buffers;
  return pool ? pool.take(size) : new Float32Array(size);
}

/**
 * A new float32 tensor of `shape` whose storage `fill` writes. On the native backend the array may
 * be recycled, with arbitrary contents: `fill` must write every element.
 */
export function output(backend: MathBackendCPU, shape: number[], fill: (out: Float32Array) => void): tf.TensorInfo {
  const out = outputArray(backend, tf.util.sizeFromShape(shape));
  fill(out);
  return backend.makeTensorInfo(shape, 'float32', out);
}

/**
 * Wraps a native kernel: where it returns null (a case it does not cover: another dtype, layout or
 * broadcast), the 'cpu' backend's kernel of the same name runs instead.
 */
export function withFallback(kernelName: string, native: NativeKernel): tf.KernelFunc {
  const cpu = tf.getKernel(kernelName, 'cpu');
  if (!cpu) throw new Error(`no cpu kernel ${kernelName} to fall back on`);
  return ((args: KernelArgs) => native(args) ?? cpu.kernelFunc(args as never)) as unknown as tf.KernelFunc;
}
