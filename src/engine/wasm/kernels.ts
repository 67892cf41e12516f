// Training kernels for TensorFlow.js's wasm engine (@tensorflow/tfjs-backend-wasm 4.22).
// The engine has no Conv2DBackpropFilter, so it cannot train a convolutional network, and its
// Conv2DBackpropInput is a direct loop that is ~10x slower than its forward convolution. Both are
// (re)registered here with implementations that run on the engine's XNNPACK matmul / convolution
// (see conv_gradients.ts). Everything else a ResNet training step needs (pooling gradients,
// batch-norm and loss ops, Adam) already exists in the engine.
import * as tf from '../../tf.js';
import { convGeometry, dataGradient, filterGradient } from './conv_gradients.js';
import type { WasmBackend } from './heap.js';

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

/** Registers `kernelFunc` for the wasm engine, replacing the engine's own version if it has one. */
function registerForWasm(kernelName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, 'wasm') !== undefined) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
}

/** Makes the wasm engine able to train convolutional networks quickly. Safe to call more than once. */
export function registerWasmTrainingKernels(): void {
  registerForWasm(tf.Conv2DBackpropFilter, conv2DBackpropFilter);
  registerForWasm(tf.Conv2DBackpropInput, conv2DBackpropInput);
}
