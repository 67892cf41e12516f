// A new classifier on a trained backbone, for fine-tuning on a user's own classes (the web page's
// Fine-tune panel; Teachable Machine's recipe with a ResNet). The backbone's output at a cut is
// computed once per photo (features.ts); only the part after the cut is trained:
//   head only   — the cut is the pooled features the old head read; a new Dense softmax is trained;
//   last stage  — the cut is where the last stage begins; that stage and the new head are trained.
// `top` maps cached features to probabilities (what training runs); `full` maps images to
// probabilities with the very same layers (what is saved and classifies), so no weights are copied.
import * as tf from '../tf.js';
import { headInput, lastStageInput, modelAfter, modelUntil } from '../models/cut.js';

export interface Classifier {
  /** Cached features [h, w, c] -> class probabilities: the part that trains. */
  top: tf.LayersModel;
  /** Images -> class probabilities: the backbone, the trained part and the new head. */
  full: tf.LayersModel;
  /** Images -> features at the cut (frozen). */
  backbone: tf.LayersModel;
  /** Shape of one photo's features, [h, w, c] (pooled features are stored as [1, 1, d]). */
  featureShape: [number, number, number];
  lastStage: boolean;
}

/** Seed of the new head's initial weights (Glorot uniform), so fine-tuning runs are repeatable. */
export const HEAD_SEED = 42;

/**
 * Puts a new `classes`-way softmax head on `base` (a model this project loaded or built; its old
 * head is left out). `base`'s layers become the new model's: give it a fresh copy of the model
 * when the original must stay as it was.
 */
export function buildClassifier(base: tf.LayersModel, classes: number, lastStage = false): Classifier {
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`a classifier needs at least 2 classes, got ${classes}`);
  const pooled = headInput(base);
  if (pooled.shape.length !== 2) throw new Error(`the head of ${base.name} does not read pooled features (shape ${JSON.stringify(pooled.shape)})`);
  const oldHead = base.layers[base.layers.length - 1];
  const head = tf.layers.dense({
    units: classes,
    activation: 'softmax',
    name: oldHead.name,
    kernelInitializer: tf.initializers.glorotUniform({ seed: HEAD_SEED }),
  });
  let top: tf.LayersModel;
  let featureShape: [number, number, number];
  let cut: tf.SymbolicTensor;
  if (lastStage) {
    cut = lastStageInput(base);
    const body = modelAfter(base, cut, pooled, `${base.name}_last_stage`);
    featureShape = cut.shape.slice(1) as [number, number, number];
    top = tf.model({ inputs: body.inputs, outputs: head.apply(body.outputs[0]) as tf.SymbolicTensor, name: 'fine_tune_top' });
  } else {
    cut = pooled;
    featureShape = [1, 1, pooled.shape[1]!];
    const input = tf.input({ shape: featureShape, name: 'pooled_features' });
    top = tf.model({ inputs: input, outputs: head.apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor, name: 'fine_tune_top' });
  }
  const full = tf.model({ inputs: base.inputs, outputs: head.apply(pooled) as tf.SymbolicTensor, name: base.name });
  return { top, full, backbone: modelUntil(base, cut, `${base.name}_backbone`), featureShape, lastStage };
}
