// `exportModel`: a model folder as a Keras 3 .keras archive or an ONNX model file (Node-only: it
// reads the folder, writes HDF5 through h5wasm and the file atomically).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import type * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { loadModelFolder, writeFileAtomically, type ModelMetadata } from '../train/checkpoint.js';
import { createHdf5, type H5File } from './hdf5.js';
import { KERAS_VERSION, kerasArchiveContents, type KerasArchiveContents } from './keras-export.js';
import { onnxModelBytes } from './onnx-export.js';

export const EXPORT_FORMATS = ['keras', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** model.weights.h5 as Keras 3 writes it: `${path}/vars/${i}` datasets, the layer's name as the vars group's attribute. */
async function weightsH5(variables: KerasArchiveContents['variables']): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'resnet-export-'));
  try {
    const path = join(dir, 'model.weights.h5');
    const file: H5File = await createHdf5(path);
    try {
      file.create_group('layers');
      for (const { path: layerPath, name, arrays } of variables) {
        const vars = file.create_group(layerPath).create_group('vars');
        vars.create_attribute('name', name);
        arrays.forEach((a, i) => vars.create_dataset({ name: String(i), data: a.values, shape: a.shape, dtype: '<f' }));
      }
    } finally {
      file.close();
    }
    return new Uint8Array(await readFile(path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The bytes of a .keras archive; metadata.json also records the registry name for `resnet import`. */
export async function kerasArchiveBytes(model: tf.LayersModel, metadata: ModelMetadata): Promise<Uint8Array> {
  const { config, variables } = kerasArchiveContents(model, metadata.model);
  const text = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const meta = {
    keras_version: KERAS_VERSION,
    date_saved: new Date().toISOString(),
    resnet_ts: { model: metadata.model, preprocessing: metadata.preprocessing ?? 'none', classNames: metadata.classNames },
  };
  // Keras stores its members uncompressed, and so does this.
  return zipSync({ 'metadata.json': text(meta), 'config.json': text(config), 'model.weights.h5': await weightsH5(variables) }, { level: 0 });
}

/** Exports the model of folder `dir` to `out`; returns what was written. */
export async function exportModel(dir: string, format: string, out: string): Promise<{ bytes: number; metadata: ModelMetadata }> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UserError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got '${format}'`);
  const { model, metadata } = await loadModelFolder(dir);
  try {
    const bytes = format === 'keras' ? await kerasArchiveBytes(model, metadata) : onnxModelBytes(model, metadata);
    await writeFileAtomically(out, bytes);
    return { bytes: bytes.length, metadata };
  } finally {
    model.dispose();
  }
}
