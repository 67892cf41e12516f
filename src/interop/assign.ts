// Puts weights read from a file into a model built here, layer by layer: every weighted layer must get
// exactly its arrays with exactly its shapes, all checked before the first one is set, so a file that
// does not fit the architecture gives one clear message and leaves the model as it was.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { sameShape, type LazyArray } from './tensors.js';

/** Target layer name -> its weights in the layer's own order (kernel, bias; gamma, beta, moving mean, moving variance). */
export type LayerWeights = Map<string, LazyArray[]>;

export interface AssignOptions {
  /** The file, for messages. */
  source: string;
  /** Layers that keep their initial weights (a new head). */
  keep?: ReadonlySet<string>;
}

/** Checks, then sets every weighted layer of `model` from `weights`; throws one UserError naming the first mismatch. */
export function assignWeights(model: tf.LayersModel, weights: LayerWeights, { source, keep = new Set() }: AssignOptions): void {
  const problems: string[] = [];
  const plan: [tf.layers.Layer, LazyArray[]][] = [];
  const modelLayers = new Set(model.layers.map((l) => l.name));
  for (const name of weights.keys()) if (!modelLayers.has(name)) problems.push(`weights for a layer '${name}' that the architecture does not have`);
  for (const layer of model.layers) {
    if (layer.weights.length === 0 || keep.has(layer.name)) continue;
    const arrays = weights.get(layer.name);
    if (!arrays) {
      problems.push(`no weights for layer '${layer.name}'`);
      continue;
    }
    if (arrays.length !== layer.weights.length) {
      problems.push(`layer '${layer.name}' has ${layer.weights.length} weight arrays, the file gives ${arrays.length}`);
      continue;
    }
    layer.weights.forEach((w, i) => {
      const wanted = w.shape as number[];
      if (!sameShape(arrays[i].shape, wanted)) {
        const role = (w.name.split('/').pop() ?? '').replace(/_\d+$/, '');
        problems.push(`layer '${layer.name}' ${role}: the file has shape [${arrays[i].shape.join(', ')}], the architecture needs [${wanted.join(', ')}]`);
      }
    });
    plan.push([layer, arrays]);
  }
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more mismatches)` : '';
    throw new UserError(`${source}: does not fit the architecture '${model.name}': ${problems[0]}${more}`);
  }
  for (const [layer, arrays] of plan) {
    const tensors = arrays.map((a) => {
      const values = a.read();
      const n = a.shape.reduce((x, y) => x * y, 1);
      if (values.length !== n) throw new UserError(`${source}: layer '${layer.name}' holds ${values.length} values for shape [${a.shape.join(', ')}] (damaged file)`);
      return tf.tensor(values, a.shape, 'float32');
    });
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
}
