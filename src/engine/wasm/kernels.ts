// Training kernels for TensorFlow.js's wasm engine (@tensorflow/tfjs-backend-wasm 4.22).
// The engine has no Conv2DBackpropFilter, so it cannot train a convolutional network, and its
// Conv2DBackpropInput is a direct loop several times slower than its forward convolution. Both are
// (re)registered here with implementations that run on the engine's XNNPACK matmul / convolution
// (conv_gradients.ts). Pooling gradients, batch-norm, loss ops and Adam already exist in the engine;
// a profile of a ResNet-50 step then put Tile, Sum/Mean, Identity and FusedBatchNorm next, so
// those are replaced too (tile.ts, reduce.ts, batch_norm.ts, below), each falling back to the
// engine's kernel outside its fast case.
// See docs/wasm-engine.md.
import * as tf from '../../tf.js';
import { makeBatchNormKernel } from './batch_norm.js';
import { convGeometry, dataGradient, filterGradient } from './conv_gradients.js';
import type { WasmBackend } from './heap.js';
import { makeReduceKernel } from './reduce.js';
import { makeTileKernel } from './tile.js';

type Shape4 = [number, number, number, number];

const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const g = convGeometry(x.shape as Shape4, a.filterShape, a);
  return filterGradient(backend as WasmBackend, x, dy, g);
};

const conv2DBackpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const g = convGeometry(a.inputShape, filter.shape as Shape4, a);
  return dataGradient(backend as WasmBackend, dy, filter, g);
};

/**
 * Identity that shares the input's memory (reference-counted), as the cpu engine's does; the
 * engine's own copies every byte, and a training step calls it ~1600 times (variable updates,
 * tidy'd gradients): hundreds of MB of copies per ResNet-50 step. Tensors are immutable, so sharing is safe.
 */
function makeIdentityKernel(engine?: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (x.dtype === 'string' && engine !== undefined) return engine(args);
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

const ours = new WeakSet<tf.KernelFunc>();
/** The engine's own kernels that were replaced, kept as fallbacks. */
const engineKernels = new Map<string, tf.KernelConfig>();

/**
 * Registers `build(engine's kernel)` for the wasm engine in place of the engine's own kernel,
 * which stays available to it as a fallback.
 */
function registerForWasm(kernelName: string, build: (engineKernel?: tf.KernelFunc) => tf.KernelFunc): void {
  const existing = tf.getKernel(kernelName, 'wasm');
  if (existing !== undefined) {
    if (!ours.has(existing.kernelFunc)) engineKernels.set(kernelName, existing);
    tf.unregisterKernel(kernelName, 'wasm');
  }
  const engine = engineKernels.get(kernelName);
  const kernelFunc = build(engine?.kernelFunc);
  ours.add(kernelFunc);
  // The engine's setup (binding its C++ function) must still run for the fallback to work.
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc, setupFunc: engine?.setupFunc });
}

/** Makes the wasm engine able to train convolutional networks quickly. Safe to call more than once. */
export function registerWasmTrainingKernels(): void {
  registerForWasm(tf.Conv2DBackpropFilter, () => conv2DBackpropFilter);
  registerForWasm(tf.Conv2DBackpropInput, () => conv2DBackpropInput);
  registerForWasm(tf.Tile, makeTileKernel);
  registerForWasm(tf.Sum, (engine) => makeReduceKernel('sum', engine));
  registerForWasm(tf.Mean, (engine) => makeReduceKernel('mean', engine));
  registerForWasm(tf.Identity, makeIdentityKernel);
  registerForWasm(tf.FusedBatchNorm, makeBatchNormKernel);
}
