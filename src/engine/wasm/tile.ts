// Tile for the wasm engine by block copies. The engine's own Tile computes every output index
// separately; training BatchNormalization tiles a per-channel vector to the full activation shape
// once per layer (tfjs-core's FusedBatchNorm gradient), which made Tile the most expensive kernel
// of a ResNet-50 training step. Here each run of equal data is written once and then doubled with
// copyWithin (a memmove), so the cost is that of writing the output.
import * as tf from '../../tf.js';
import { type WasmBackend } from './heap.js';

type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Copies `block` elements at `start` so that they appear `times` times in a row. */
function replicate(out: NumericArray, start: number, block: number, times: number): void {
  const total = block * times;
  for (let filled = block; filled < total; ) {
    const n = Math.min(filled, total - filled);
    out.copyWithin(start + filled, start, start + n);
    filled += n;
  }
}

/** out = tile(src, reps), both row-major; out has shape inShape[i] * reps[i]. */
export function tileInto(src: NumericArray, out: NumericArray, inShape: number[], reps: number[]): void {
  const rank = inShape.length;
  if (rank === 0) {
    out.set(src.subarray(0, 1));
    return;
  }
  const inStrides = new Array<number>(rank);
  const outStrides = new Array<number>(rank);
  inStrides[rank - 1] = 1;
  outStrides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    inStrides[d] = inStrides[d + 1] * inShape[d + 1];
    outStrides[d] = outStrides[d + 1] * inShape[d + 1] * reps[d + 1];
  }
  const fill = (d: number, srcOffset: number, outOffset: number): void => {
    if (d === rank - 1) {
      out.set(src.subarray(srcOffset, srcOffset + inShape[d]), outOffset);
    } else {
      for (let i = 0; i < inShape[d]; i++) fill(d + 1, srcOffset + i * inStrides[d], outOffset + i * outStrides[d]);
    }
    replicate(out, outOffset, inShape[d] * outStrides[d], reps[d]);
  };
  fill(0, 0, 0);
}

/** Kernel function replacing the engine's Tile; `fallback` (the engine's) handles other dtypes. */
export function makeTileKernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = (inputs as { x: tf.TensorInfo }).x;
    const { reps } = attrs as unknown as tf.TileAttrs;
    const wasm = backend as WasmBackend;
    if (!['float32', 'int32', 'bool'].includes(x.dtype) || tf.util.sizeFromShape(x.shape) === 0) {
      if (fallback === undefined) throw new Error(`wasm Tile: unsupported dtype ${x.dtype}`);
      return fallback({ inputs, backend, attrs });
    }
    const outShape = x.shape.map((size, i) => size * reps[i]);
    const out = wasm.makeOutput(outShape, x.dtype);
    if (tf.util.sizeFromShape(outShape) > 0) {
      const src = wasm.typedArrayFromHeap(x) as NumericArray;
      tileInto(src, wasm.typedArrayFromHeap(out) as NumericArray, x.shape, reps);
    }
    return out;
  };
}
