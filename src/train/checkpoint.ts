// Model folders in TensorFlow.js's format (model.json + weights.bin, loadable by tf.loadLayersModel
// in a browser), plus the optimiser state and loop counters a resumed run needs. Folders are written
// with src/io/atomic.ts (whole, then renamed into place). Reading trusts nothing a file declares:
// sizes are checked against limits and against the files' real sizes before anything is read or
// allocated, and weight paths must stay inside the folder (src/io/confine.ts).
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import type { ResizeMode } from '../data/types.js';
import { resolveInside } from '../io/confine.js';
import { checkMemory } from '../io/memory.js';
import { MAX_MODEL_JSON_BYTES, MAX_STATE_JSON_BYTES, MAX_WEIGHT_BYTES, MAX_WEIGHT_RANK, MAX_WEIGHT_TENSORS } from '../limits.js';
import { checkModelFitsMetadata, checkModelJson } from './model-json.js';
import { withWeightBudget } from './weight-guard.js';
import { OPTIMIZERS } from './options.js';
import type { LoopState } from './loop.js';
import type { EpochRecord } from '../plot/curves.js';
import { reviveNumbers } from './json.js';
import type { OptimizerState } from './optimizer.js';
import type { Files } from '../io/atomic.js';
export { writeFolderAtomically, writeFileAtomically, recoverFolder, type Files } from '../io/atomic.js';
export { modelFiles } from './model-folder.js';
import '../models/registry.js'; // registers the custom layers of the model family, needed to load them
// A model folder loads in a process that has chosen no engine yet (a script, a test): TensorFlow.js's
// cpu backend is always there to build it on (startEngine may pick a faster one before or after).
import '@tensorflow/tfjs-backend-cpu';

/** What a model folder says about its model, stored as model.json's userDefinedMetadata. */
export interface ModelMetadata {
  /** Registry name of the architecture. */
  model: string;
  /** Class names, index = output unit. */
  classNames: string[];
  /** [height, width, channels] of the input images (pixels / 255). */
  inputShape: [number, number, number];
  /** Epochs completed when this was saved. */
  epoch: number;
  /** How images were brought to the input size in training (predict and evaluate do the same);
   *  absent in folders written before resize modes existed: 'squash'. */
  resize?: { mode: ResizeMode; size: [number, number] };
  /** The input normalisation inside the model ('caffe', 'tf', 'torch', 'custom'; absent or 'none': plain [0, 1] pixels). */
  preprocessing?: string;
  /** Where imported weights came from (file name and format), for people. */
  importedFrom?: string;
}

/** Optimiser state as optimizer.json (names, shapes, step count) + optimizer.bin (float32, in order). */
export function optimizerFiles(state: OptimizerState): Files {
  const total = state.tensors.reduce((n, t) => n + t.values.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const t of state.tensors) {
    data.set(t.values, offset);
    offset += t.values.length;
  }
  const json = { name: state.name, iterations: state.iterations, tensors: state.tensors.map((t) => ({ name: t.name, shape: t.shape })) };
  return { 'optimizer.json': JSON.stringify(json), 'optimizer.bin': new Uint8Array(data.buffer) };
}

/** Reads and parses a small JSON file, refusing one larger than `maxBytes` before reading it. */
export async function readJson(path: string, what: string, maxBytes = MAX_STATE_JSON_BYTES): Promise<unknown> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UserError(`${path}: cannot read ${what} (missing)`);
  if (!info.isFile()) throw new UserError(`${path}: ${what} is not a file`);
  if (info.size > maxBytes) throw new UserError(`${path}: ${what} is ${info.size} bytes, more than the ${maxBytes} allowed`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(`${path}: cannot read ${what} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path}: ${what} is not valid JSON (${(error as Error).message})`);
  }
}

/** Finds model.json in `dir`; a run folder without a final model falls back to its best/ checkpoint. */
export function modelJsonPath(dir: string): string {
  if (typeof dir !== 'string' || dir === '') throw new UserError(`the model folder must be a path, got ${JSON.stringify(dir)}`);
  if (!existsSync(dir)) throw new UserError(`model folder '${dir}' does not exist`);
  for (const candidate of [join(dir, 'model.json'), join(dir, 'best', 'model.json')]) if (existsSync(candidate)) return candidate;
  if (dir.endsWith('.json')) return dir;
  throw new UserError(`'${dir}' holds no model.json (not a model folder written by 'resnet train')`);
}

/** Reads the files of one weight group, whose sizes must add up to `bytes`; paths stay inside `folder`. */
async function readWeightGroup(folder: string, paths: string[], bytes: number): Promise<Uint8Array[]> {
  const files = await Promise.all(paths.map((p) => resolveInside(folder, p, 'weights file')));
  let total = 0;
  for (const [i, file] of files.entries()) {
    const info = await stat(file);
    if (!info.isFile()) throw new UserError(`${join(folder, paths[i])}: weights file is not a file`);
    total += info.size;
  }
  if (total !== bytes) {
    throw new UserError(`${folder}: weights hold ${total} bytes, model.json describes ${bytes} (damaged or mismatched files)`);
  }
  const parts: Uint8Array[] = [];
  for (const file of files) {
    const data = await readFile(file);
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  const read = parts.reduce((n, p) => n + p.byteLength, 0);
  if (read !== bytes) throw new UserError(`${folder}: the weights files changed while they were read`);
  return parts;
}

/**
 * Loads a model folder, checking every file first so that a damaged or hostile folder gives one clear
 * message: model.json's declared sizes against limits and the files' sizes, weight paths confined to
 * the folder, the layers held to the declared weights while they are built, and the built model's
 * input and output against the metadata (one output unit per class name).
 */
export async function loadModelFolder(dir: string): Promise<{ model: tf.LayersModel; metadata: ModelMetadata; path: string }> {
  const jsonPath = modelJsonPath(dir);
  const folder = dirname(jsonPath);
  const json = checkModelJson(jsonPath, await readJson(jsonPath, 'the model description', MAX_MODEL_JSON_BYTES));
  const metadata = json.metadata;
  // The files, their concatenation and the model's tensors: about three copies at the peak.
  checkMemory(3 * json.groups.reduce((n, g) => n + g.bytes, 0), `${jsonPath}: loading the model's weights`, 'use a machine with more memory');
  const parts: Uint8Array[] = [];
  for (const group of json.groups) parts.push(...(await readWeightGroup(folder, group.paths, group.bytes)));
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    weightData.set(p, offset);
    offset += p.byteLength;
  }
  let model: tf.LayersModel;
  try {
    model = await withWeightBudget(jsonPath, json.elements, json.largest, () =>
      tf.loadLayersModel({
        load: async () => ({
          modelTopology: json.modelTopology,
          weightSpecs: json.groups.flatMap((g) => g.weights),
          weightData: weightData.buffer,
          format: json.format,
          generatedBy: json.generatedBy,
          convertedBy: json.convertedBy,
          userDefinedMetadata: metadata as unknown as { [key: string]: {} },
        }),
      }),
    );
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${jsonPath}: cannot build the model (${String((error as Error)?.message ?? error).split('\n')[0]})`);
  }
  try {
    checkModelFitsMetadata(jsonPath, model, metadata);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, metadata, path: folder };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a checkpoint's optimiser state, or throws a UserError naming what is missing or damaged. */
export async function loadOptimizerState(dir: string): Promise<OptimizerState> {
  const jsonPath = join(dir, 'optimizer.json');
  const binPath = join(dir, 'optimizer.bin');
  const json = await readJson(jsonPath, 'the optimizer state');
  const damaged = (why: string) => new UserError(`${jsonPath}: damaged optimizer state (${why})`);
  if (!isObject(json) || !Array.isArray(json.tensors)) throw damaged('no list of tensors');
  if (!(OPTIMIZERS as readonly unknown[]).includes(json.name)) throw damaged(`unknown optimizer ${JSON.stringify(json.name)?.slice(0, 50)}`);
  if (!Number.isSafeInteger(json.iterations) || (json.iterations as number) < 0) throw damaged('iterations is not a whole number');
  if (json.tensors.length > 3 * MAX_WEIGHT_TENSORS) throw damaged('too many tensors');
  let total = 0;
  const sizes = json.tensors.map((t: unknown, i) => {
    if (!isObject(t) || typeof t.name !== 'string' || !Array.isArray(t.shape) || t.shape.length > MAX_WEIGHT_RANK) throw damaged(`tensor ${i} has no name or shape`);
    const n = t.shape.reduce<number>((a, d) => (Number.isSafeInteger(d) && (d as number) >= 0 ? a * (d as number) : NaN), 1);
    if (!(n <= MAX_WEIGHT_BYTES / 4)) throw damaged(`tensor '${t.name}' has shape ${JSON.stringify(t.shape).slice(0, 100)}`);
    total += n;
    if (total * 4 > 3 * MAX_WEIGHT_BYTES) throw damaged('larger than any model allowed');
    return n;
  });
  const info = await stat(binPath).catch(() => undefined);
  if (!info?.isFile()) throw new UserError(`${binPath}: optimizer state missing`);
  if (info.size !== total * 4) throw new UserError(`${dir}: optimizer.bin holds ${info.size} bytes but optimizer.json describes ${total * 4} (damaged checkpoint)`);
  const bytes = await readFile(binPath);
  if (bytes.byteLength !== total * 4) throw new UserError(`${dir}: optimizer.bin changed while it was read`);
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let offset = 0;
  const tensors = (json.tensors as { name: string; shape: number[] }[]).map((t, i) => {
    const slice = values.subarray(offset, offset + sizes[i]);
    offset += sizes[i];
    return { name: t.name, shape: t.shape, values: slice };
  });
  return { name: json.name as OptimizerState['name'], iterations: json.iterations as number, tensors };
}

/** The numeric fields of a history record (history.jsonl, state.json). */
const EPOCH_NUMBERS: ReadonlyArray<keyof EpochRecord> = ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', 'seconds'];

/** Reads a checkpoint's state.json, checking every counter and that the history has one record per epoch. */
export async function loadLoopState(dir: string): Promise<LoopState> {
  const path = join(dir, 'state.json');
  const raw = await readJson(path, 'the loop state');
  const bad = (why: string) => new UserError(`${path}: not a valid checkpoint state (${why}; damaged checkpoint)`);
  if (!isObject(raw)) throw bad('not an object');
  // Non-finite numbers are written as "NaN", "Infinity", "-Infinity" (json.ts): read them back first.
  const state: Record<string, unknown> = { ...raw };
  if (Array.isArray(raw.history)) state.history = raw.history.map((r: unknown) => (isObject(r) ? reviveNumbers(r, EPOCH_NUMBERS) : r));
  if (isObject(raw.best)) state.best = reviveNumbers(raw.best, ['accuracy', 'loss']);
  const { epoch, bestEpoch, epochsWithoutImprovement, history, best } = state;
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!count(epoch) || !count(bestEpoch) || !count(epochsWithoutImprovement)) throw bad('epoch counters are not whole numbers');
  if ((bestEpoch as number) > (epoch as number) || (epochsWithoutImprovement as number) > (epoch as number)) throw bad('epoch counters disagree');
  if (!Array.isArray(history) || history.length !== epoch) throw bad(`the history does not hold one record per epoch`);
  const figure = (v: unknown) => v === null || typeof v === 'number';
  const records = history.every((r: unknown) => isObject(r) && typeof r.epoch === 'number' && EPOCH_NUMBERS.every((k) => figure(r[k])));
  if (!records) throw bad('a history record is damaged');
  if (best !== null && !(isObject(best) && typeof best.accuracy === 'number' && typeof best.loss === 'number')) throw bad('the best result is damaged');
  return state as unknown as LoopState;
}

export async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
