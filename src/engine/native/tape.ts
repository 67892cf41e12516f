// The native engine and tfjs-core's gradient tape.
//
// 1. Higher-order gradients. Several of the engine's replacements (gradients.ts, moments.ts,
//    batch_norm_training.ts) compute a gradient with a native kernel that has no gradient of its
//    own. That is right whenever the gradient functions run with the tape off, which tfjs-core
//    does unless gradients are nested (tf.grad of a function that calls tf.grad): a kernel that
//    runs while at most one tape records, or a gradient function that runs while none does. The
//    two predicates below say so; elsewhere tfjs-core's own (differentiable) path runs.
//
// 2. Saved tensors. When a kernel runs under a tape, tfjs-core keeps the tensors its gradient
//    needs by cloning each one (Engine.clone): a full Identity kernel run plus a tape node linking
//    the clone to the original, which only higher-order gradients use. A ResNet-50 training step
//    saves ~1,240 tensors: as many Identity runs as real kernels, and a tape twice as long to
//    filter and walk. With a single tape, while the 'native' backend is active, a saved tensor is
//    made as the cpu backend's Identity makes it (a new tensor on the same data, one more
//    reference to it), without the kernel run and the node.
import * as tf from '../../tf.js';

interface EngineInternals {
  backendName: string;
  backend: tf.KernelBackend;
  state: { gradientDepth: number };
  clone(x: tf.Tensor): tf.Tensor;
  makeTensorFromTensorInfo(info: tf.TensorInfo): tf.Tensor;
}

const engine = () => tf.engine() as unknown as EngineInternals;

/** A kernel running now will be differentiated at most once, by gradient functions run with the tape off. */
export function differentiatedAtMostOnce(): boolean {
  return engine().state.gradientDepth <= 1;
}

/** A gradient function running now is not itself differentiated (no tape records it). */
export function gradientIsFinal(): boolean {
  return engine().state.gradientDepth === 0;
}

let installed = false;

export function installCheapSavedTensors(backendName: string): void {
  if (installed) return;
  installed = true;
  const e = engine();
  const original = e.clone;
  e.clone = function (this: EngineInternals, x: tf.Tensor): tf.Tensor {
    if (this.state.gradientDepth !== 1 || this.backendName !== backendName) return original.call(this, x);
    this.backend.incRef(x.dataId);
    return this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype });
  };
}
