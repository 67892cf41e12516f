// Helpers for kernels that work directly on the wasm engine's memory: tensors of the wasm backend
// live in its WebAssembly heap, so JavaScript loops can read and write them in place, and the
// engine's own (C++/XNNPACK) kernels can be called on them without going through tf ops.
import * as tf from '../../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { transposeInto } from './im2col.js';

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

/**
 * 2-D transpose [rows, cols] -> [cols, rows]. The engine's kernel is fast except when `rows` is a
 * multiple of 128 (its output stride then maps to few cache sets: 2048x512 takes 9 ms against
 * 0.9 ms for 7200x256, measured); those go through a tiled JavaScript transpose (3.8 ms).
 */
export function transpose2d(backend: WasmBackend, x: Info, rows: number, cols: number): Info {
  if (rows % 128 !== 0 || cols < 16) {
    return runWasmKernel(backend, 'Transpose', { x: withShape(x, [rows, cols]) }, { perm: [1, 0] });
  }
  const out = allocate(backend, [cols, rows]);
  transposeInto(heapView(backend, x), 0, heapView(backend, out), 0, rows, cols);
  return out;
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
