// Files for the importers' tests, written here byte by byte (no Python needed): safetensors state
// dicts, legacy Keras HDF5 files and zip archives, plus a torchvision-keyed state dict made from one of
// the family's models.
import { zipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import * as tf from '../../src/tf.js';
import { hwioToOihw, transpose2d } from '../../src/interop/tensors.js';

export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export function f32(values: ArrayLike<number>, shape: number[]): RawTensor {
  return { dtype: 'F32', shape, data: new Uint8Array(Float32Array.from(values).buffer) };
}

/** A safetensors file: 8-byte little-endian header length, JSON header, tensor bytes in order. */
export function safetensorsBytes(tensors: Record<string, RawTensor>, header: Record<string, unknown> = {}): Uint8Array {
  let offset = 0;
  const entries: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (const [name, t] of Object.entries(tensors)) {
    entries[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify({ ...entries, ...header }));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/** A family ImageNet-stem model's weights under torchvision's keys (the inverse of the importer's mapping). */
export function torchvisionStateDict(model: tf.LayersModel): Record<string, RawTensor> {
  const dict: Record<string, RawTensor> = {};
  const put = (key: string, values: Float32Array, shape: number[]) => (dict[key] = f32(values, shape));
  for (const layer of model.layers) {
    const weights = layer.getWeights().map((w) => ({ values: w.dataSync() as Float32Array, shape: w.shape }));
    if (weights.length === 0 || layer.name === 'preprocessing') continue;
    let key: string;
    const m = /^conv(\d)_block(\d+)_(\d)_(conv|bn)$/.exec(layer.name);
    if (layer.name === 'conv1_conv') key = 'conv1';
    else if (layer.name === 'conv1_bn') key = 'bn1';
    else if (layer.name === 'predictions') key = 'fc';
    else if (m) {
      const [, stage, block, index, kind] = m;
      const base = `layer${Number(stage) - 1}.${Number(block) - 1}`;
      key = index === '0' ? `${base}.downsample.${kind === 'conv' ? 0 : 1}` : `${base}.${kind}${index}`;
    } else throw new Error(`no torchvision key for ${layer.name}`);
    const kind = layer.getClassName();
    if (kind === 'Conv2D') {
      const w = hwioToOihw(weights[0]);
      put(`${key}.weight`, w.values, w.shape);
    } else if (kind === 'Dense') {
      const w = transpose2d(weights[0]);
      put(`${key}.weight`, w.values, w.shape);
      put(`${key}.bias`, weights[1].values, weights[1].shape);
    } else {
      ['weight', 'bias', 'running_mean', 'running_var'].forEach((role, i) => put(`${key}.${role}`, weights[i].values, weights[i].shape));
      dict[`${key}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: new Uint8Array(8) };
    }
  }
  return dict;
}

/** Randomises every batch norm's statistics and scales, so that inference mode is not the identity. */
export function randomizeBatchNorm(model: tf.LayersModel, seed = 3): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const n = layer.getWeights()[0].shape[0];
    const u = (lo: number, hi: number) => tf.randomUniform([n], lo, hi, 'float32', s++);
    const fresh = [u(0.5, 1), u(-0.1, 0.1), u(-0.1, 0.1), u(0.5, 1.5)];
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

/** A legacy Keras weights file: root attribute layer_names, per layer group weight_names + datasets. */
export async function writeLegacyKerasH5(path: string, layers: [string, [string, Float32Array, number[]][]][], attrs: Record<string, string> = {}): Promise<void> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'w');
  file.create_attribute('layer_names', layers.map(([name]) => name));
  for (const [key, value] of Object.entries(attrs)) file.create_attribute(key, value);
  for (const [name, weights] of layers) {
    const group = file.create_group(name);
    if (weights.length > 0) group.create_attribute('weight_names', weights.map(([w]) => w));
    for (const [weightName, values, shape] of weights) {
      // Keras nests each array under its layer's name: <layer>/<layer>/kernel.
      const parts = weightName.split('/');
      let parent = group;
      for (const part of parts.slice(0, -1)) parent = (parent.get(part) as typeof group | null) ?? parent.create_group(part);
      parent.create_dataset({ name: parts.at(-1)!, data: values, shape, dtype: '<f' });
    }
  }
  file.close();
}

/** A legacy Keras weights file holding a model's weights by layer name (Keras 3 naming: 'conv1/kernel'). */
export async function writeModelAsLegacyH5(path: string, model: tf.LayersModel): Promise<void> {
  const roles: Record<string, string[]> = { Conv2D: ['kernel', 'bias'], Dense: ['kernel', 'bias'], BatchNormalization: ['gamma', 'beta', 'moving_mean', 'moving_variance'] };
  await writeLegacyKerasH5(
    path,
    model.layers.map((l) => [l.name, l.getWeights().map((w, i): [string, Float32Array, number[]] => [`${l.name}/${roles[l.getClassName()][i]}`, w.dataSync() as Float32Array, w.shape])]),
  );
}

export function zipBytes(members: Record<string, Uint8Array>): Uint8Array {
  return zipSync(members, { level: 0 });
}
