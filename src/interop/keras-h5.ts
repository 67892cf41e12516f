// Reads Keras weights out of HDF5 (Node-only, h5wasm):
//   - legacy .h5 files, full models (`model.save('x.h5')`: a model_config attribute and a
//     model_weights group) and weights-only ones (`save_weights` in Keras 2, the files
//     keras.applications downloads): a layer_names attribute lists the layers, each layer group's
//     weight_names its arrays in order (kernel, bias; gamma, beta, moving mean, moving variance).
//     A nested model's group lists its inner layers' arrays ('conv1_conv/kernel:0'), so each array
//     belongs to the layer named by the path component before its last one;
//   - Keras 3's model.weights.h5 (inside .keras archives): `${path}/vars/0, 1, ...` per layer, with
//     the paths taken from the saved config (src/interop/keras-config.ts).
import { UserError } from '../errors.js';
import { parseKerasConfigText, type KerasModelInfo } from './keras-config.js';
import type { KerasSource } from './keras-mapping.js';
import { datasetAt, groupAt, lazyDataset, openHdf5, quietly, stringsAttribute, type H5File } from './hdf5.js';
import type { LazyArray } from './tensors.js';

/** A model_config attribute longer than this is refused (ResNet-152's is about 0.5 MB). */
const MAX_CONFIG_CHARS = 64 * 2 ** 20;

function addArray(layers: Map<string, LazyArray[]>, owner: string, array: LazyArray): void {
  if (!layers.has(owner)) layers.set(owner, []);
  layers.get(owner)!.push(array);
}

/** A legacy Keras .h5 file (full model or weights only). Keep the returned file open until the arrays are read. */
export async function readLegacyKerasH5(path: string, source: string): Promise<{ source: KerasSource; file: H5File }> {
  const file = await openHdf5(path, source);
  try {
    const keys = quietly(() => file.keys());
    const full = keys.includes('model_weights');
    const root = full ? groupAt(file, 'model_weights') : file;
    if (!root) throw new UserError(`${source}: 'model_weights' is not a group (damaged file)`);
    const layerNames = stringsAttribute(root, 'layer_names', source);
    if (layerNames.length === 0) {
      if (keys.includes('layers') || keys.includes('vars')) {
        throw new UserError(`${source}: a Keras 3 weights-only file (.weights.h5) keys its arrays by class-name counters and names no layers; import the whole model saved as .keras instead`);
      }
      throw new UserError(`${source}: an HDF5 file without Keras layers (no 'layer_names' attribute)`);
    }
    let info: KerasModelInfo | undefined;
    const configText = stringsAttribute(file, 'model_config', source)[0];
    if (configText !== undefined) {
      if (configText.length > MAX_CONFIG_CHARS) throw new UserError(`${source}: model_config is over ${MAX_CONFIG_CHARS} characters`);
      info = parseKerasConfigText(configText, source);
    }
    const layers = new Map<string, LazyArray[]>();
    for (const name of layerNames) {
      const group = groupAt(root, name);
      if (!group) throw new UserError(`${source}: layer '${name.slice(0, 100)}' is listed but has no group (damaged file)`);
      for (const weightName of stringsAttribute(group, 'weight_names', source)) {
        const parts = weightName.split('/');
        const owner = parts.length > 1 ? parts[parts.length - 2] : name;
        addArray(layers, owner, lazyDataset(datasetAt(group, weightName, source), source));
      }
    }
    return { source: { format: full ? 'Keras legacy HDF5 model' : 'Keras legacy HDF5 weights', info, layers }, file };
  } catch (error) {
    quietly(() => file.close());
    throw error;
  }
}

/** Keras 3's model.weights.h5 mapped through the saved config. Keep the returned file open until the arrays are read. */
export async function readKeras3Weights(path: string, info: KerasModelInfo, source: string): Promise<{ layers: Map<string, LazyArray[]>; file: H5File }> {
  const file = await openHdf5(path, source);
  try {
    const layers = new Map<string, LazyArray[]>();
    for (const layer of info.layers) {
      const vars = groupAt(file, `${layer.path}/vars`);
      if (!vars) continue; // layers without variables have no group (or an empty one)
      const names = quietly(() => vars.keys());
      if (names.length === 0) continue;
      // Keras 3.x records the layer's name on the group: it must be the one the config gives that path.
      const recorded = stringsAttribute(vars, 'name', source)[0];
      if (recorded !== undefined && recorded !== layer.name) {
        throw new UserError(`${source}: '${layer.path}' holds the variables of '${recorded.slice(0, 100)}', but the config puts '${layer.name}' there (damaged archive)`);
      }
      if (!names.every((n, i) => names.includes(String(i)) && /^\d+$/.test(n)) || names.length > 16) {
        throw new UserError(`${source}: '${layer.path}/vars' holds unexpected entries (${names.slice(0, 5).join(', ')})`);
      }
      layers.set(layer.name, names.map((_, i) => lazyDataset(datasetAt(vars, String(i), source), source)));
    }
    return { layers, file };
  } catch (error) {
    quietly(() => file.close());
    throw error;
  }
}
