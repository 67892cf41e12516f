// FusedBatchNorm (y = (x - mean) * scale / sqrt(variance + epsilon) + offset) for per-channel
// parameters of an NHWC tensor. The engine's kernel took ~11 ns per element in a ResNet-50 training
// step (6% of it); folding the parameters into one multiplier and one shift per channel makes it one
// multiply-add per element. Other parameter shapes and dtypes go to the engine's kernel.
import * as tf from '../../tf.js';
import { type WasmBackend } from './heap.js';

type BatchNormInputs = { x: tf.TensorInfo; mean: tf.TensorInfo; variance: tf.TensorInfo; offset?: tf.TensorInfo; scale?: tf.TensorInfo };

export function makeBatchNormKernel(engine: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as BatchNormInputs;
    const { varianceEpsilon } = args.attrs as unknown as tf.FusedBatchNormAttrs;
    const channels = x.shape[x.shape.length - 1] ?? 0;
    const size = tf.util.sizeFromShape(x.shape);
    const params = [mean, variance, offset, scale].filter((p): p is tf.TensorInfo => p != null);
    const perChannel = params.every((p) => p.dtype === 'float32' && tf.util.sizeFromShape(p.shape) === channels);
    if (x.dtype !== 'float32' || channels === 0 || size === 0 || !perChannel) {
      if (engine === undefined) throw new Error('wasm FusedBatchNorm: the engine kernel is missing');
      return engine(args);
    }
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(x.shape, 'float32');
    const view = (info: tf.TensorInfo) => backend.typedArrayFromHeap(info) as Float32Array;
    const [m, v] = [view(mean), view(variance)];
    const [g, b] = [scale == null ? undefined : view(scale), offset == null ? undefined : view(offset)];
    const multiplier = new Float64Array(channels);
    const shift = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      multiplier[c] = (g === undefined ? 1 : g[c]) / Math.sqrt(v[c] + varianceEpsilon);
      shift[c] = (b === undefined ? 0 : b[c]) - m[c] * multiplier[c];
    }
    const [xs, ys] = [view(x), view(out)];
    for (let i = 0; i < size; i += channels) {
      for (let c = 0; c < channels; c++) ys[i + c] = xs[i + c] * multiplier[c] + shift[c];
    }
    return out;
  };
}
