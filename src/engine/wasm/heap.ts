// Helpers for kernels that work directly on the wasm engine's memory: tensors of the wasm backend
// live in its WebAssembly heap, so JavaScript loops can read and write them in place, and the
// engine's own (C++/XNNPACK) kernels can be called on them without going through tf ops.
import * as tf from '../../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type WasmBackend = BackendWasm;
export type Info = tf.TensorInfo;

/** Runs one of the wasm engine's registered kernels (e.g. 'BatchMatMul') on tensor infos. */
export function runWasmKernel(
  backend: WasmBackend,
  kernelName: string,
  inputs: Record<string, Info>,
  attrs: Record<string, unknown> = {},
): Info {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (kernel === undefined) throw new Error(`wasm kernel '${kernelName}' is not registered`);
  return kernel.kernelFunc({
    inputs,
    attrs: attrs as tf.NamedAttrMap,
    backend,
  }) as Info;
}

/** The same data seen with another shape of equal size (no copy; the wasm kernels read by dataId). */
export function withShape(info: Info, shape: number[]): Info {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** Plain matrix product a[m,k]·b[k,n] in the engine's XNNPACK path (transposed operands are ~10x slower there). */
export function matMul(backend: WasmBackend, a: Info, b: Info): Info {
  return runWasmKernel(backend, 'BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
}

/** 2-D transpose [rows, cols] -> [cols, rows] by the engine's native kernel. */
export function transpose2d(backend: WasmBackend, x: Info, rows: number, cols: number): Info {
  return runWasmKernel(backend, 'Transpose', { x: withShape(x, [rows, cols]) }, { perm: [1, 0] });
}

/** A new, uninitialised float32 tensor in the wasm heap. */
export function allocate(backend: WasmBackend, shape: number[]): Info {
  return backend.makeOutput(shape, 'float32');
}

/**
 * Float32 view of a tensor's memory. Take views only after the last allocation of a kernel:
 * growing the heap detaches views taken before.
 */
export function heapView(backend: WasmBackend, info: Info): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

export function release(backend: WasmBackend, ...infos: Info[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}
