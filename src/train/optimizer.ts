// Optimisers of the training loop: TensorFlow.js's Adam and SGD with (Nesterov) momentum, plus AdamW built on
// Adam with decoupled weight decay. The learning rate changes every step (schedules), and the state
// (moments, step counter) can be saved and restored for --resume.
import * as tf from '../tf.js';
import type { OptimizerName } from './options.js';

export interface TrainOptimizer {
  name: OptimizerName;
  inner: tf.Optimizer;
  setLearningRate(lr: number): void;
  /**
   * One update of `vars` from `grads` (same order). `decayed[i]` says whether vars[i] gets weight
   * decay (kernels do; biases and BatchNormalization parameters do not).
   */
  step(vars: tf.Variable[], grads: tf.Tensor[], decayed: boolean[]): void;
  dispose(): void;
}

// Adam keeps its rate in a protected field read at each update; this is the documented config key.
interface HasLearningRate {
  learningRate: number;
}

/**
 * `biasLrScale` (sgd and nesterov) multiplies the gradients of the variables without weight decay
 * (biases, batch-norm shifts) before the momentum update, which is the same as giving them a
 * learning rate that many times larger (airbench's `bias_scaler`).
 */
export function makeOptimizer(name: OptimizerName, lr: number, weightDecay: number, momentum: number, biasLrScale = 1): TrainOptimizer {
  let currentLr = lr;
  const sgd = name === 'sgd' || name === 'nesterov';
  const inner: tf.Optimizer = sgd ? tf.train.momentum(lr, momentum, name === 'nesterov') : tf.train.adam(lr, 0.9, 0.999, 1e-7);
  const coupledDecay = name === 'adamw' ? 0 : weightDecay; // L2 term added to the gradient
  const decoupledDecay = name === 'adamw' ? weightDecay : 0; // w -= lr * wd * w after the update
  return {
    name,
    inner,
    setLearningRate(rate: number) {
      currentLr = rate;
      // (instanceof cannot tell optimisers apart: tfjs-core overrides it to duck-typing.)
      if (sgd) (inner as tf.SGDOptimizer).setLearningRate(rate);
      else (inner as unknown as HasLearningRate).learningRate = rate;
    },
    step(vars, grads, decayed) {
      // The gradient as the update reads it; the caller's own tensor where nothing changes it (made
      // tensors are disposed below, the caller's are not).
      const made: tf.Tensor[] = [];
      const named = tf.tidy(() =>
        vars.map((v, i) => {
          const tensor = decayed[i]
            ? coupledDecay > 0 ? tf.add(grads[i], tf.mul(v, coupledDecay)) : grads[i]
            : sgd && biasLrScale !== 1 ? tf.mul(grads[i], biasLrScale) : grads[i];
          if (tensor !== grads[i]) made.push(tensor);
          return { name: v.name, tensor };
        }),
      );
      // AdamW (as PyTorch does it): shrink the weights, then add the Adam update computed from the
      // gradient at the old weights: w <- w * (1 - lr * wd) - lr * adam(g).
      if (decoupledDecay > 0) {
        const keep = 1 - currentLr * decoupledDecay;
        vars.forEach((v, i) => {
          if (!decayed[i]) return;
          const shrunk = tf.mul(v, keep);
          v.assign(shrunk);
          shrunk.dispose(); // the variable now holds its data; this handle would leak otherwise
        });
      }
      inner.applyGradients(named);
      tf.dispose(made);
    },
    dispose() {
      inner.dispose();
      // MomentumOptimizer.dispose forgets the -lr scalar its SGD base keeps (tfjs-core 4.22).
      if (sgd) (inner as unknown as { c?: tf.Tensor }).c?.dispose();
    },
  };
}

/** The optimiser's state as plain arrays (for a checkpoint): names, shapes and float32 data. */
export interface OptimizerState {
  name: OptimizerName;
  iterations: number;
  tensors: { name: string; shape: number[]; values: Float32Array }[];
}

export async function saveOptimizerState(opt: TrainOptimizer): Promise<OptimizerState> {
  const weights = await opt.inner.getWeights();
  const [iterations, ...rest] = weights;
  const count = (await iterations.tensor.data())[0];
  iterations.tensor.dispose(); // a fresh scalar; the others are the optimiser's own variables
  const tensors = await Promise.all(
    rest.map(async (w) => ({ name: w.name, shape: w.tensor.shape, values: (await w.tensor.data()) as Float32Array })),
  );
  return { name: opt.name, iterations: count, tensors };
}

export async function restoreOptimizerState(opt: TrainOptimizer, state: OptimizerState): Promise<void> {
  const named = [
    { name: 'iter', tensor: tf.scalar(state.iterations, 'int32') },
    ...state.tensors.map((t) => ({ name: t.name, tensor: tf.tensor(t.values, t.shape) })),
  ];
  await opt.inner.setWeights(named);
  // setWeights wraps each tensor in a new variable sharing its data; our handles can go.
  tf.dispose(named.map((n) => n.tensor));
}

/**
 * Why `state` (from a checkpoint) cannot drive an optimiser of variables of `shapes` (the model's
 * trainable weights, in order), or null when it can. TF.js pairs the saved tensors with the variables
 * by position, k accumulators (Adam: m and v; SGD: momentum) of one tensor per variable each.
 */
export function checkOptimizerStateFits(state: OptimizerState, shapes: number[][]): string | null {
  const n = shapes.length;
  if (n === 0 || state.tensors.length === 0 || state.tensors.length % n !== 0) {
    return `${state.tensors.length} optimizer tensors for a model of ${n} trainable weights`;
  }
  const bad = state.tensors.findIndex((t, i) => t.shape.join(',') !== shapes[i % n].join(','));
  return bad < 0 ? null : `optimizer tensor '${state.tensors[bad].name}' has shape [${state.tensors[bad].shape.join(', ')}], its weight [${shapes[bad % n].join(', ')}]`;
}
