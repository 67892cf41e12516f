// `importModel`: a Keras (.h5, .keras) or PyTorch (.safetensors) ResNet file as a model of this
// project, with the metadata of a model folder (Node-only: it reads files). The format is told from
// the file's first bytes, not its name. Pickled PyTorch files (.pth, .pt) are refused with the
// one-line conversion to safetensors, since unpickling runs arbitrary code.
import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { MAX_CLASSES } from '../limits.js';
import { buildModel } from '../models/registry.js';
import { preprocessingPreset, type PreprocessingConfig } from '../models/preprocessing.js';
import { modelFiles, writeFolderAtomically, type ModelMetadata } from '../train/checkpoint.js';
import { assignWeights } from './assign.js';
import { initializeHead } from './head.js';
import { headLayer } from '../models/cut.js';
import { readKerasArchive } from './keras-archive.js';
import { readLegacyKerasH5 } from './keras-h5.js';
import { planKerasImport } from './keras-mapping.js';
import type { ImportPlan } from './plan.js';
import { parseSafetensors } from './safetensors.js';
import { converted, reverseInputChannels } from './tensors.js';
import { planTorchvisionImport } from './torchvision.js';

export interface ImportOptions {
  /** Registry name of the architecture; default: told from the file. */
  model?: string;
  /** Put on a new head with this many classes (seeded initialisation), keeping the backbone. */
  classes?: number;
  /** [height, width] of the input; default: the file's, else 224 (ImageNet models) or 64 (the course model). */
  inputSize?: [number, number];
  /** Override the input normalisation the weights expect: 'none', 'caffe' (BGR weights), 'tf', 'torch'. */
  preprocessing?: string;
}

export interface ImportResult {
  model: tf.LayersModel;
  metadata: ModelMetadata;
  /** What kind of file it was. */
  format: string;
}

/** Files over this many bytes are refused (ResNet-152 in float32 is about 240 MB). */
export const MAX_IMPORT_BYTES = 2 ** 31 - 1;
/** Seed of a new head's Glorot-uniform kernel. */
const HEAD_SEED = 1;
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04];
const PICKLE_PROTOCOL = 0x80;

const CONVERT_PTH =
  "python -c \"import torch; from safetensors.torch import save_file; save_file({k: v.contiguous() for k, v in torch.load('FILE.pth', map_location='cpu').items()}, 'FILE.safetensors')\"";

function refusePickle(source: string): never {
  throw new UserError(`${source}: a pickled PyTorch file (.pth/.pt) is not read, since unpickling can run arbitrary code; convert the state dict to safetensors first: ${CONVERT_PTH}`);
}

function startsWith(bytes: Uint8Array, signature: number[]): boolean {
  return signature.every((b, i) => bytes[i] === b);
}

async function firstBytes(path: string, count: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads a file, plans its import and hands the plan to `use` while the file is still open. */
async function withPlan<T>(path: string, options: ImportOptions, use: (plan: ImportPlan) => T): Promise<T> {
  const source = basename(path);
  const info = await stat(path).catch(() => {
    throw new UserError(`${path}: no such file`);
  });
  if (!info.isFile()) throw new UserError(`${path}: not a file`);
  if (info.size > MAX_IMPORT_BYTES) throw new UserError(`${path}: ${info.size} bytes, over the ${MAX_IMPORT_BYTES}-byte limit of an imported model`);
  const head = await firstBytes(path, 16);
  if (startsWith(head, HDF5_SIGNATURE)) {
    const { source: keras, file } = await readLegacyKerasH5(path, source);
    try {
      return use(planKerasImport(keras, source, options.model));
    } finally {
      file.close();
    }
  }
  if (startsWith(head, ZIP_SIGNATURE)) {
    const bytes = new Uint8Array(await readFile(path));
    // torch.save's zip format: <name>/data.pkl plus tensors; a .keras archive has config.json.
    if (/^[^/]*\/data\.pkl/.test(new TextDecoder('latin1').decode(bytes.subarray(30, 30 + 256)))) refusePickle(source);
    const archive = await readKerasArchive(bytes, source);
    try {
      return use(planKerasImport(archive.source, source, options.model));
    } finally {
      await archive.close();
    }
  }
  // safetensors: a little-endian header length, then the JSON header's '{'.
  if (head.length >= 9 && head[8] === 0x7b /* '{' */ && new DataView(head.buffer, head.byteOffset).getBigUint64(0, true) < 2n ** 40n) {
    const bytes = new Uint8Array(await readFile(path));
    return use(planTorchvisionImport(parseSafetensors(bytes, source), source, options.model));
  }
  if ((head[0] === PICKLE_PROTOCOL && head[1] >= 2 && head[1] <= 5) || /\.(pth|pt|ckpt|pkl|bin)$/i.test(path)) refusePickle(source);
  throw new UserError(`${path}: not a Keras .h5 / .keras file or a PyTorch .safetensors file`);
}

function inputShapeOf(plan: ImportPlan, size: [number, number] | undefined): [number, number, number] {
  const [h, w, c] = plan.inputShape ?? [null, null, 3];
  if (size) return [size[0], size[1], c ?? 3];
  return [h ?? plan.defaultSize, w ?? plan.defaultSize, c ?? 3];
}

/** Imports a pretrained ResNet file; see ImportOptions. The caller owns (and disposes) the model. */
export async function importModel(path: string, options: ImportOptions = {}): Promise<ImportResult> {
  if (options.classes !== undefined && (!Number.isInteger(options.classes) || options.classes < 1 || options.classes > MAX_CLASSES)) {
    throw new UserError(`--classes must be a positive integer up to ${MAX_CLASSES}, got ${options.classes}`);
  }
  return withPlan(path, options, (plan) => {
    const source = basename(path);
    const newHead = options.classes !== undefined;
    const classes = options.classes ?? plan.classes;
    if (classes === undefined) throw new UserError(`${source}: the file has no classifier head (a backbone saved without its top); pass --classes N to put one on`);
    const inputShape = inputShapeOf(plan, options.inputSize);
    const name = options.preprocessing ?? plan.preprocessing;
    const preprocessing: PreprocessingConfig | undefined = name === 'custom' && !options.preprocessing ? plan.customPreprocessing : preprocessingPreset(name);
    if (preprocessing && preprocessing.scale.length !== inputShape[2]) throw new UserError(`${source}: '${name}' preprocessing needs ${preprocessing.scale.length} input channels, the model has ${inputShape[2]}`);
    const weights = new Map(plan.weights);
    // Keras's caffe mode feeds BGR: reverse the first convolution's input channels so that RGB works.
    const first = weights.get(plan.firstConv);
    if (name === 'caffe' && first) weights.set(plan.firstConv, [converted(first[0], first[0].shape, reverseInputChannels), ...first.slice(1)]);
    // Zero initial weights: every one is set from the file below (or, for a new head, drawn there).
    const model = buildModel(plan.model, { inputShape, classes, preprocessing, initialWeights: 'zeros' });
    try {
      const target = headLayer(model).name;
      const keep = new Set<string>();
      if (plan.headLayer !== undefined) {
        const arrays = weights.get(plan.headLayer)!;
        weights.delete(plan.headLayer);
        if (!newHead) weights.set(target, arrays);
      }
      if (newHead || plan.headLayer === undefined) keep.add(target);
      assignWeights(model, weights, { source, keep });
      if (keep.has(target)) initializeHead(model, HEAD_SEED);
    } catch (error) {
      model.dispose();
      throw error;
    }
    const metadata: ModelMetadata = {
      model: plan.model,
      classNames: Array.from({ length: classes }, (_, i) => String(i)),
      inputShape,
      epoch: 0,
      preprocessing: preprocessing ? name : 'none',
      importedFrom: `${source} (${plan.format})`,
    };
    return { model, metadata, format: plan.format };
  });
}

/** Writes a model and its metadata as an ordinary model folder (the format of `resnet train`'s), atomically. */
export async function writeModelFolder(dir: string, model: tf.LayersModel, metadata: ModelMetadata): Promise<void> {
  await writeFolderAtomically(dir, await modelFiles(model, metadata));
}
