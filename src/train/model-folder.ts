// A model folder's two files (model.json + weights.bin) to and from a TensorFlow.js model, without
// any file system: the caller says how to read a file named in model.json (Node: the disk,
// src/train/checkpoint.ts; the web page: fetch or dropped files). Every file is checked before the
// model is built, so a damaged folder gives one clear UserError instead of a TF.js stack trace.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import type { ModelMetadata } from './checkpoint.js';
import '../models/registry.js'; // registers the custom layers of the model family, needed to load them

export type Files = Record<string, string | Uint8Array>;

/** model.json as this project writes it (TF.js's layers-model format). */
export interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: ModelMetadata;
}

/** Serialises a model (topology + weights) into the two files of a TF.js model folder. */
export async function modelFiles(model: tf.LayersModel, metadata: ModelMetadata): Promise<Files> {
  let files: Files = {};
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.concatenateArrayBuffers(artifacts.weightData ?? []);
      const modelJson = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        userDefinedMetadata: metadata,
      };
      files = { 'model.json': JSON.stringify(modelJson), 'weights.bin': new Uint8Array(weightData) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
    }),
  );
  return files;
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * Checks that `json` (parsed model.json, found at `where`) is a layers model with this project's
 * metadata; returns it typed. Throws a UserError naming what is wrong.
 */
export function checkModelJson(json: unknown, where: string): ModelJson & { userDefinedMetadata: ModelMetadata } {
  const j = json as ModelJson;
  if (typeof j !== 'object' || j === null || typeof j.modelTopology !== 'object' || !Array.isArray(j.weightsManifest)) {
    throw new UserError(`${where}: not a TensorFlow.js layers model (no modelTopology / weightsManifest)`);
  }
  const metadata = j.userDefinedMetadata;
  if (!metadata || !Array.isArray(metadata.classNames) || !Array.isArray(metadata.inputShape) || metadata.inputShape.length !== 3) {
    throw new UserError(`${where}: no class names / input shape in userDefinedMetadata (not written by 'resnet train')`);
  }
  for (const group of j.weightsManifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) throw new UserError(`${where}: damaged weightsManifest`);
    for (const path of group.paths) {
      // Weights live in the folder itself: no absolute paths, no way up.
      if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.split(/[\\/]/).includes('..')) {
        throw new UserError(`${where}: weights path '${String(path)}' leaves the model folder`);
      }
    }
  }
  return j as ModelJson & { userDefinedMetadata: ModelMetadata };
}

/** Reads one file named in model.json's weightsManifest (relative to the folder), or throws a UserError. */
export type ReadWeights = (path: string) => Promise<Uint8Array>;

/** The artifacts TF.js builds a model from, with the weights checked against the manifest. */
export async function modelArtifacts(json: unknown, where: string, read: ReadWeights, folder = where): Promise<{ artifacts: tf.io.ModelArtifacts; metadata: ModelMetadata }> {
  const j = checkModelJson(json, where);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of j.weightsManifest) {
    for (const file of group.paths) {
      const bytes = await read(file);
      buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }
    specs.push(...group.weights);
  }
  const weightData = tf.io.concatenateArrayBuffers(buffers);
  const expected = specs.reduce((n, s) => n + (BYTES_PER_ELEMENT[s.dtype] ?? 4) * s.shape.reduce((a, b) => a * b, 1), 0);
  if (weightData.byteLength !== expected) {
    throw new UserError(`${folder}: weights hold ${weightData.byteLength} bytes, model.json describes ${expected} (damaged or mismatched files)`);
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: j.modelTopology,
    weightSpecs: specs,
    weightData,
    format: j.format,
    generatedBy: j.generatedBy,
    convertedBy: j.convertedBy ?? undefined,
    userDefinedMetadata: j.userDefinedMetadata as unknown as { [key: string]: {} },
  };
  return { artifacts, metadata: j.userDefinedMetadata };
}

/** Builds the model of checked artifacts (a fresh copy each call); a UserError if TF.js cannot. */
export async function modelFromArtifacts(artifacts: tf.io.ModelArtifacts, where: string): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel({ load: async () => artifacts });
  } catch (error) {
    throw new UserError(`${where}: cannot build the model (${(error as Error).message.split('\n')[0]})`);
  }
}
