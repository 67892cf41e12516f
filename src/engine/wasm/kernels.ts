// Training kernels the TensorFlow.js wasm engine lacks. PLACEHOLDER: filled in by the wasm-kernels work.
export function registerWasmTrainingKernels(): void {}
