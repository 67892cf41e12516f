// A loaded model fitted to the data of a fine-tuning run: a new seeded head for other classes, another
// input size for other images. Browser-safe.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { headLayer } from '../models/cut.js';

/** What a loaded model says about itself (a model folder's metadata, or an importer's). */
export interface InitModel {
  model: tf.LayersModel;
  classNames: string[];
  inputShape: [number, number, number];
}

/** A layer's config inside a model's JSON (tfjs-layers' serialization, snake_case keys). */
interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
}

/**
 * Fits a loaded model to the data: the same model when its classes (names, in order) and input size
 * agree; else the same layers rebuilt from its JSON configuration with the data's [height, width]
 * (every layer here is size-independent, up to the global pooling) and, for other classes, a new
 * Dense head with `classes` units and a seeded Glorot-uniform kernel. All other weights are copied by
 * layer name; the loaded model is disposed (also on an error). Returns the model and one line per change, for the log.
 */
export async function fitModelToData(
  init: InitModel,
  data: { classNames: string[]; inputShape: [number, number, number] },
  seed: number,
): Promise<{ model: tf.LayersModel; notes: string[] }> {
  try {
    return await rebuildForData(init, data, seed);
  } catch (error) {
    init.model.dispose();
    throw error;
  }
}

async function rebuildForData(
  init: InitModel,
  data: { classNames: string[]; inputShape: [number, number, number] },
  seed: number,
): Promise<{ model: tf.LayersModel; notes: string[] }> {
  const { model } = init;
  const head = headLayer(model);
  const [h, w, c] = data.inputShape;
  if (c !== init.inputShape[2]) throw new UserError(`the model takes ${init.inputShape[2]}-channel images, the data has ${c} channels`);
  const sameClasses = data.classNames.length === init.classNames.length && data.classNames.every((n, i) => n === init.classNames[i]);
  const sameSize = h === init.inputShape[0] && w === init.inputShape[1];
  if (sameClasses && sameSize) return { model, notes: [] };

  const json = model.toJSON(null, false) as unknown as { config: { layers: LayerJson[]; output_layers: unknown[][] } };
  const layers = json.config.layers;
  const notes: string[] = [];
  if (!sameSize) {
    const inputs = layers.filter((l) => l.class_name === 'InputLayer');
    if (inputs.length !== 1) throw new UserError(`model '${model.name}' has ${inputs.length} inputs; only one-input models can take another image size`);
    inputs[0].config.batch_input_shape = [null, h, w, c];
    notes.push(`input ${init.inputShape[0]}x${init.inputShape[1]} -> ${h}x${w} (the same layers and weights on the new size)`);
  }
  let headName = head.name;
  if (!sameClasses) {
    const headJson = layers.find((l) => l.config.name === head.name)!;
    // The course model names its head after the class count (fc6); keep that convention.
    if (/^fc\d+$/.test(head.name)) headName = `fc${data.classNames.length}`;
    headJson.config.name = headName;
    headJson.name = headName;
    headJson.config.units = data.classNames.length;
    headJson.config.kernel_initializer = { class_name: 'GlorotUniform', config: { seed } };
    headJson.config.bias_initializer = { class_name: 'Zeros', config: {} };
    for (const out of json.config.output_layers) if (out[0] === head.name) out[0] = headName;
    const names = (list: string[]) => (list.length > 6 ? `${list.slice(0, 5).join(', ')}, ... (${list.length})` : list.join(', '));
    notes.push(
      `new head '${headName}' for the data's ${data.classNames.length} classes (${names(data.classNames)}), Glorot-uniform seed ${seed}, ` +
        `replaces '${head.name}' (${init.classNames.length} classes: ${names(init.classNames)})`,
    );
  }
  const sizeHint = sameSize ? '' : `; train at the model's own size with --image-size ${init.inputShape[0]}`;
  const rebuilt = await tf.models.modelFromJSON(json as unknown as Parameters<typeof tf.models.modelFromJSON>[0]).catch((error: Error) => {
    throw new UserError(`model '${model.name}' cannot be rebuilt for ${h}x${w}x${c} images (${error.message.split('\n')[0]})${sizeHint}`);
  });
  for (const layer of rebuilt.layers) {
    if (!sameClasses && layer.name === headName) continue;
    const weights = model.getLayer(layer.name).getWeights();
    const misfit = layer.weights.findIndex((v, i) => v.shape.join('x') !== weights[i]?.shape.join('x'));
    if (misfit >= 0 || layer.weights.length !== weights.length) {
      rebuilt.dispose();
      const i = Math.max(misfit, 0);
      // (The course ResNet-50 flattens its last feature map: its head depends on the image size.)
      throw new UserError(
        `the loaded weights of layer '${layer.name}' (${weights[i]?.shape.join('x') ?? 'none'}) do not fit ${h}x${w} images (${layer.weights[i]?.shape.join('x') ?? 'none'})${sizeHint}`,
      );
    }
    layer.setWeights(weights);
    layer.trainable = true;
  }
  model.dispose();
  return { model: rebuilt, notes };
}
