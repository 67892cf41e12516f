// The one TensorFlow.js namespace the library uses: tfjs-core (tensors, ops, backends) merged with
// tfjs-layers (the Keras API), as the `@tensorflow/tfjs` umbrella package does. Callers import `tf`
// from the library so that models, layers and tensors all live in a single engine instance.
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
