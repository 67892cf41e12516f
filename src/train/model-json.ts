// What a model folder's model.json may declare, checked before anything it declares is read or
// allocated: the weight groups (paths are strings; specs have a name, a known dtype and a shape of
// whole numbers), their sizes against MAX_WEIGHT_BYTES, and the metadata (class names, input shape)
// against the limits of src/limits.ts. Then, once built, that the model's input and output fit the
// metadata (as many output units as class names). Browser-safe: the file reading is in checkpoint.ts.
import type * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { MAX_CLASS_NAME_LENGTH, MAX_CLASSES, MAX_IMAGE_SIDE, MAX_LAYERS, MAX_WEIGHT_BYTES, MAX_WEIGHT_FILES, MAX_WEIGHT_RANK, MAX_WEIGHT_TENSORS } from '../limits.js';
import type { ModelMetadata } from './checkpoint.js';

/** Bytes per stored value of each dtype TensorFlow.js can load (quantised weights: the quantised type). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

export interface WeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
  /** Bytes the group's files must hold together. */
  bytes: number;
}

export interface CheckedModelJson {
  modelTopology: object;
  groups: WeightGroup[];
  metadata: ModelMetadata;
  /** Weight values in all, and in the largest tensor. */
  elements: number;
  largest: number;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Number of values of a weight shape, or a UserError naming the weight. */
function elementCount(where: string, name: string, shape: unknown): number {
  if (!Array.isArray(shape) || shape.length > MAX_WEIGHT_RANK) {
    throw new UserError(`${where}: weight '${name}' has shape ${JSON.stringify(shape)}, expected a list of at most ${MAX_WEIGHT_RANK} whole numbers`);
  }
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) throw new UserError(`${where}: weight '${name}' has shape ${JSON.stringify(shape)}, expected non-negative whole numbers`);
    n *= d as number;
    if (n > MAX_WEIGHT_BYTES) throw new UserError(`${where}: weight '${name}' of shape [${shape.join(', ')}] is larger than the ${MAX_WEIGHT_BYTES / 2 ** 30} GiB allowed for a whole model`);
  }
  return n;
}

function checkSpec(where: string, spec: unknown, index: number): { spec: tf.io.WeightsManifestEntry; bytes: number; elements: number } {
  if (!isObject(spec) || typeof spec.name !== 'string' || spec.name.length === 0 || spec.name.length > 1000) {
    throw new UserError(`${where}: weight spec ${index} has no valid name`);
  }
  const name = spec.name;
  const elements = elementCount(where, name, spec.shape);
  let perValue = DTYPE_BYTES[spec.dtype as string];
  if (perValue === undefined) throw new UserError(`${where}: weight '${name}' has dtype ${JSON.stringify(spec.dtype)}, expected one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
  if (spec.quantization !== undefined) {
    const q = spec.quantization;
    perValue = isObject(q) ? QUANTIZED_BYTES[q.dtype as string] : undefined as unknown as number;
    if (perValue === undefined) throw new UserError(`${where}: weight '${name}' has an unsupported quantization ${JSON.stringify(q)?.slice(0, 100)}`);
  }
  return { spec: spec as unknown as tf.io.WeightsManifestEntry, bytes: elements * perValue, elements };
}

/** Checks the metadata resnet-ts stores in userDefinedMetadata (optional fields may be absent). */
export function checkMetadata(where: string, metadata: unknown): ModelMetadata {
  if (!isObject(metadata) || !Array.isArray(metadata.classNames) || !Array.isArray(metadata.inputShape)) {
    throw new UserError(`${where}: no class names / input shape in userDefinedMetadata (not written by 'resnet train')`);
  }
  const { classNames, inputShape } = metadata;
  if (classNames.length === 0 || classNames.length > MAX_CLASSES) throw new UserError(`${where}: ${classNames.length} class names (expected 1 to ${MAX_CLASSES})`);
  const bad = classNames.findIndex((c) => typeof c !== 'string' || c.length === 0 || c.length > MAX_CLASS_NAME_LENGTH);
  if (bad >= 0) throw new UserError(`${where}: class name ${bad} is not a name of 1 to ${MAX_CLASS_NAME_LENGTH} characters: ${JSON.stringify(classNames[bad])?.slice(0, 100)}`);
  if (new Set(classNames).size !== classNames.length) throw new UserError(`${where}: the class names are not all different`);
  const [h, w, c] = inputShape as unknown[];
  const side = (v: unknown) => Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_IMAGE_SIDE;
  if (inputShape.length !== 3 || !side(h) || !side(w) || (c !== 1 && c !== 3)) {
    throw new UserError(`${where}: input shape ${JSON.stringify(inputShape)?.slice(0, 100)} is not [height, width, 1 or 3] with sides of 1 to ${MAX_IMAGE_SIDE} pixels`);
  }
  if (metadata.model !== undefined && (typeof metadata.model !== 'string' || metadata.model.length > 200)) throw new UserError(`${where}: the model name in userDefinedMetadata is not a short string`);
  if (metadata.epoch !== undefined && !(Number.isInteger(metadata.epoch) && (metadata.epoch as number) >= 0)) throw new UserError(`${where}: the epoch in userDefinedMetadata is not a whole number`);
  return metadata as unknown as ModelMetadata;
}

/** Checks a parsed model.json; every problem is a UserError naming `where`. */
export function checkModelJson(where: string, json: unknown): CheckedModelJson {
  if (!isObject(json) || !isObject(json.modelTopology) || !Array.isArray(json.weightsManifest)) {
    throw new UserError(`${where}: not a TensorFlow.js layers model (no modelTopology / weightsManifest)`);
  }
  const metadata = checkMetadata(where, json.userDefinedMetadata);
  const topology = json.modelTopology;
  const config = isObject(topology.model_config) ? topology.model_config.config : topology.config; // Keras's converter nests it
  const layers = isObject(config) ? config.layers : undefined;
  if (Array.isArray(layers) && layers.length > MAX_LAYERS) throw new UserError(`${where}: the topology has ${layers.length} layers, more than the ${MAX_LAYERS} allowed`);
  const groups: WeightGroup[] = [];
  let [bytes, elements, largest, tensors, files] = [0, 0, 0, 0, 0];
  for (const group of json.weightsManifest as unknown[]) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights) || group.paths.length === 0) {
      throw new UserError(`${where}: damaged weightsManifest (each group needs a list of paths and a list of weights)`);
    }
    files += group.paths.length;
    if (files > MAX_WEIGHT_FILES) throw new UserError(`${where}: more than ${MAX_WEIGHT_FILES} weights files`);
    const badPath = group.paths.find((p) => typeof p !== 'string' || p.length === 0);
    if (badPath !== undefined) throw new UserError(`${where}: weightsManifest path ${JSON.stringify(badPath)?.slice(0, 100)} is not a file name`);
    tensors += group.weights.length;
    if (tensors > MAX_WEIGHT_TENSORS) throw new UserError(`${where}: more than ${MAX_WEIGHT_TENSORS} weight tensors`);
    const checked = group.weights.map((s, i) => checkSpec(where, s, i));
    const groupBytes = checked.reduce((n, c) => n + c.bytes, 0);
    bytes += groupBytes;
    if (bytes > MAX_WEIGHT_BYTES) throw new UserError(`${where}: the weights take more than the ${MAX_WEIGHT_BYTES / 2 ** 30} GiB allowed for a model`);
    for (const c of checked) {
      elements += c.elements;
      largest = Math.max(largest, c.elements);
    }
    groups.push({ paths: group.paths as string[], weights: checked.map((c) => c.spec), bytes: groupBytes });
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { modelTopology: json.modelTopology, groups, metadata, elements, largest, format: str(json.format), generatedBy: str(json.generatedBy), convertedBy: str(json.convertedBy) };
}

/** Throws unless the built model takes metadata.inputShape and has one output unit per class name. */
export function checkModelFitsMetadata(where: string, model: tf.LayersModel, metadata: ModelMetadata): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new UserError(`${where}: the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs, expected one of each`);
  const input = model.inputs[0].shape.slice(1);
  const output = model.outputs[0].shape;
  if (input.length !== 3 || input.some((d, i) => d !== null && d !== metadata.inputShape[i])) {
    throw new UserError(`${where}: the model takes [${input.join(', ')}] inputs but its metadata says ${metadata.inputShape.join('x')}`);
  }
  const units = output[output.length - 1];
  if (output.length !== 2 || units !== metadata.classNames.length) {
    throw new UserError(`${where}: the model has ${output.length === 2 ? units : `[${output.join(', ')}]`} output units but ${metadata.classNames.length} class names (damaged or mismatched model folder)`);
  }
}
