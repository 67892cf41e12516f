// The gradient-flow study (issue #5): a plain CIFAR-style network and its residual twin (shortcut
// option A, so both have exactly the same weight layers and start from the same kernels) are trained
// side by side on the same batches; every few steps we record the gradient norm of each weight layer
// (conv and dense kernels, input -> output), and the training loss at every step.
import * as tf from '../tf.js';
import { makeBatch, shuffledIndices } from '../data/index.js';
import type { ImageDataset } from '../data/types.js';
import { UserError } from '../errors.js';
import type { Initializer } from '../blocks.js';
import { buildResNet, cifarArchitecture, type InitializerName } from '../models/resnet.js';

/** An initializer outside the two named ones (tests use a deliberately small one). */
export interface CustomInit {
  label: string;
  create: (seed: number) => Initializer;
}

/** One configuration of the study: batch norm on/off and the kernel initializer. */
export interface StudyConfig {
  batchNorm: boolean;
  init: InitializerName | CustomInit;
}

export interface GradientStudyOptions {
  /** CIFAR depths 6n+2 to compare, e.g. [20, 56]. */
  depths: number[];
  configs: StudyConfig[];
  /** SGD steps per network. */
  steps: number;
  /** Images per step. */
  batchSize: number;
  /** Steps between two records of the per-layer gradient norms (step 0 and the last step are always recorded). */
  recordEvery: number;
  /** SGD learning rate (per step) and momentum, as in He et al. (2015) without the schedule. */
  learningRate: number;
  momentum: number;
  /** Seeds the kernels (plain and residual get the same) and the batch order. */
  seed: number;
  /** Called after each step of each run (progress display). */
  onStep?: (run: string, step: number) => void;
}

export interface GradientRecord {
  step: number;
  /** L2 norm of the loss gradient w.r.t. each kernel, ordered input -> output. */
  norms: number[];
  /**
   * L2 norm of each kernel at that step (before the update). With batch norm after a conv the loss
   * does not change when its kernel is scaled, so the gradient shrinks as 1/||w||: norms / weightNorms
   * is the size of a step relative to the weights.
   */
  weightNorms: number[];
}

export interface NetworkTrace {
  /** Mean cross-entropy of the batch at each step, before that step's update. */
  loss: number[];
  layerGradNorms: GradientRecord[];
  /** First step whose loss or gradients were not finite; training of that network stopped there. */
  divergedAtStep: number | null;
}

export interface StudyRun {
  key: string;
  depth: number;
  batchNorm: boolean;
  init: string;
  /** Names of the weight layers, input -> output (the same in both networks). */
  layers: string[];
  plain: NetworkTrace;
  residual: NetworkTrace;
}

export function initLabel(init: StudyConfig['init']): string {
  return typeof init === 'string' ? init : init.label;
}

export function runKey(depth: number, config: StudyConfig): string {
  return `depth${depth}-${config.batchNorm ? 'bn' : 'nobn'}-${initLabel(config.init)}`;
}

/** The weight layers' kernels of a model, in the order the model applies them (input -> output). */
export function kernelsInOrder(model: tf.LayersModel): { names: string[]; variables: tf.Variable[] } {
  const layers = model.layers.filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName()));
  const kernels = layers.map((l) => {
    const kernel = l.trainableWeights.find((w) => w.originalName.endsWith('/kernel'));
    if (!kernel) throw new Error(`layer ${l.name} has no kernel`);
    return kernel.read() as tf.Variable;
  });
  return { names: layers.map((l) => l.name), variables: kernels };
}

/**
 * SGD with heavy-ball momentum, the update of tf.train.momentum: v <- m * v + g; w <- w - lr * v.
 * Written out because tf.train.momentum's dispose() leaves its learning-rate scalar allocated.
 */
class MomentumSgd {
  private readonly velocities = new Map<string, tf.Variable>();
  constructor(private readonly learningRate: number, private readonly momentum: number) {}

  apply(grads: tf.NamedTensorMap, variables: tf.Variable[]): void {
    tf.tidy(() => {
      for (const w of variables) {
        const g = grads[w.name];
        let v = this.velocities.get(w.name);
        if (!v) {
          v = tf.variable(tf.zerosLike(w), false);
          this.velocities.set(w.name, v);
        }
        v.assign(tf.add(tf.mul(v, this.momentum), g));
        w.assign(tf.sub(w, tf.mul(v, this.learningRate)));
      }
    });
  }

  dispose(): void {
    for (const v of this.velocities.values()) v.dispose();
    this.velocities.clear();
  }
}

/** Trains one network for one step on (xs, ys); returns the loss and, if asked, the kernels' gradient norms. */
function trainStep(
  model: tf.LayersModel,
  optimizer: MomentumSgd,
  kernels: tf.Variable[],
  xs: tf.Tensor4D,
  ys: tf.Tensor2D,
  withNorms: boolean,
): { loss: number; norms: number[] | null; weightNorms: number[] | null } {
  const weightNorms = withNorms ? tf.tidy(() => Array.from(tf.stack(kernels.map((k) => tf.norm(k))).dataSync())) : null;
  const { value, norms } = tf.tidy(() => {
    const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar,
      trainable,
    );
    const norms = withNorms ? tf.stack(kernels.map((k) => tf.norm(grads[k.name]))) : tf.zeros([0]);
    optimizer.apply(grads, trainable);
    return { value, norms };
  });
  const loss = value.dataSync()[0];
  const normValues = withNorms ? Array.from(norms.dataSync()) : null;
  tf.dispose([value, norms]);
  return { loss, norms: normValues, weightNorms };
}

function buildNetwork(depth: number, config: StudyConfig, shortcut: 'A' | 'none', ds: ImageDataset, seed: number): tf.LayersModel {
  const [, height, width, channels] = ds.shape;
  return buildResNet(cifarArchitecture(depth), {
    inputShape: [height, width, channels],
    classes: ds.classNames.length,
    shortcut,
    batchNorm: config.batchNorm,
    kernelInitializer: typeof config.init === 'string' ? config.init : config.init.create,
    seed,
    headActivation: 'linear', // logits: softmaxCrossEntropy stays exact where a softmax saturates
    name: `${shortcut === 'none' ? 'plain' : 'resnet'}${depth}`,
  });
}

/** Plain and residual networks of one depth and configuration, trained on the same batches. */
export function runPair(ds: ImageDataset, depth: number, config: StudyConfig, options: GradientStudyOptions): StudyRun {
  const key = runKey(depth, config);
  const nets = (['none', 'A'] as const).map((shortcut) => {
    const model = buildNetwork(depth, config, shortcut, ds, options.seed);
    const trace: NetworkTrace = { loss: [], layerGradNorms: [], divergedAtStep: null };
    return { model, trace, kernels: kernelsInOrder(model), optimizer: new MomentumSgd(options.learningRate, options.momentum) };
  });
  const [n] = ds.shape;
  let order = shuffledIndices(n, options.seed);
  let cursor = 0;
  try {
    for (let step = 0; step < options.steps; step++) {
      if (cursor + options.batchSize > n) {
        order = shuffledIndices(n, options.seed + step); // a new epoch
        cursor = 0;
      }
      const { xs, ys } = makeBatch(ds, order.subarray(cursor, cursor + options.batchSize));
      cursor += options.batchSize;
      const record = step % options.recordEvery === 0 || step === options.steps - 1;
      for (const net of nets) {
        if (net.trace.divergedAtStep !== null) continue;
        const { loss, norms, weightNorms } = trainStep(net.model, net.optimizer, net.kernels.variables, xs, ys, record);
        if (!Number.isFinite(loss) || (norms && !norms.every(Number.isFinite))) {
          net.trace.divergedAtStep = step;
          continue;
        }
        net.trace.loss.push(loss);
        if (norms && weightNorms) net.trace.layerGradNorms.push({ step, norms, weightNorms });
      }
      tf.dispose([xs, ys]);
      options.onStep?.(key, step);
    }
  } finally {
    for (const net of nets) {
      net.optimizer.dispose();
      net.model.dispose();
    }
  }
  const [plain, residual] = nets;
  return {
    key,
    depth,
    batchNorm: config.batchNorm,
    init: initLabel(config.init),
    layers: plain.kernels.names,
    plain: plain.trace,
    residual: residual.trace,
  };
}

export function checkStudyOptions(o: GradientStudyOptions): void {
  if (o.depths.length === 0) throw new UserError('give at least one depth');
  for (const d of o.depths) cifarArchitecture(d); // throws a UserError unless 6n+2
  if (o.configs.length === 0) throw new UserError('give at least one configuration');
  for (const [name, v] of [['steps', o.steps], ['batch size', o.batchSize], ['record every', o.recordEvery]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UserError(`${name} must be a positive integer, got ${v}`);
  }
  if (!(o.learningRate > 0)) throw new UserError(`learning rate must be positive, got ${o.learningRate}`);
  if (!(o.momentum >= 0 && o.momentum < 1)) throw new UserError(`momentum must be in [0, 1), got ${o.momentum}`);
}

/** Every configuration x depth, in order: configurations outer, depths inner. */
export function runGradientStudy(ds: ImageDataset, options: GradientStudyOptions): StudyRun[] {
  checkStudyOptions(options);
  if (ds.shape[0] < options.batchSize) throw new UserError(`the data has ${ds.shape[0]} images, fewer than one batch of ${options.batchSize}`);
  const runs: StudyRun[] = [];
  for (const config of options.configs) for (const depth of options.depths) runs.push(runPair(ds, depth, config, options));
  return runs;
}

type TraceJson = Pick<NetworkTrace, 'layerGradNorms' | 'loss' | 'divergedAtStep'>;
type RunJson = { depth: number; steps: number; batchNorm: boolean; init: string; layers: string[]; plain: TraceJson; residual: TraceJson };

/** The --json line: the first run's fields at the top level, every other run under its key (e.g. "depth56-bn-he"). */
export function studyJson(runs: StudyRun[], steps: number): Record<string, unknown> {
  const toJson = (r: StudyRun): RunJson => ({
    depth: r.depth, steps, batchNorm: r.batchNorm, init: r.init, layers: r.layers, plain: r.plain, residual: r.residual,
  });
  const [first, ...others] = runs;
  return { key: first.key, ...toJson(first), ...Object.fromEntries(others.map((r) => [r.key, toJson(r)])) };
}
