// Model folders in TensorFlow.js's format (model.json + weights.bin, loadable by tf.loadLayersModel
// in a browser), plus the optimiser state and loop counters a resumed run needs. Every folder is
// written whole into a temporary sibling and renamed into place, so a kill never leaves half of one.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import type { ResizeMode } from '../data/types.js';
import type { LoopState } from './loop.js';
import type { EpochRecord } from '../plot/curves.js';
import { reviveNumbers } from './json.js';
import type { OptimizerState } from './optimizer.js';
import { modelArtifacts, modelFromArtifacts, type Files } from './model-folder.js';

export { modelFiles } from './model-folder.js';

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

/** Writes `files` as the folder `dir`, replacing any previous one only once the new one is complete. */
export async function writeFolderAtomically(dir: string, files: Files): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(tmp, name), content);
  const hadOld = existsSync(dir);
  if (hadOld) await rename(dir, old);
  await rename(tmp, dir);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Writes one file via a temporary name and a rename (never a half-written file under `path`). */
export async function writeFileAtomically(path: string, content: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

/**
 * If a kill struck between the two renames of writeFolderAtomically, `dir` is missing and its previous
 * version waits under `dir.old-PID`: put it back. Leftover temporary folders are removed.
 */
export async function recoverFolder(dir: string): Promise<void> {
  const parent = dirname(dir);
  if (!existsSync(parent)) return;
  const name = basename(dir);
  for (const entry of await readdir(parent)) {
    const full = join(parent, entry);
    if (entry.startsWith(`${name}.old-`) && !existsSync(dir)) await rename(full, dir);
    else if (entry.startsWith(`${name}.old-`) || entry.startsWith(`${name}.tmp-`)) await rm(full, { recursive: true, force: true });
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${path}: cannot read ${what}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path}: ${what} is not valid JSON (${(error as Error).message})`);
  }
}

/** Finds model.json in `dir`; a run folder without a final model falls back to its best/ checkpoint. */
export function modelJsonPath(dir: string): string {
  if (!existsSync(dir)) throw new UserError(`model folder '${dir}' does not exist`);
  for (const candidate of [join(dir, 'model.json'), join(dir, 'best', 'model.json')]) if (existsSync(candidate)) return candidate;
  if (dir.endsWith('.json') && existsSync(dir)) return dir;
  throw new UserError(`'${dir}' holds no model.json (not a model folder written by 'resnet train')`);
}

/** Loads a model folder, checking every file first so that a damaged folder gives one clear message. */
export async function loadModelFolder(dir: string): Promise<{ model: tf.LayersModel; metadata: ModelMetadata; path: string }> {
  const jsonPath = modelJsonPath(dir);
  const folder = dirname(jsonPath);
  const json = await readJson(jsonPath, 'the model description');
  const read = (file: string) =>
    readFile(join(folder, file)).catch(() => {
      throw new UserError(`${join(folder, file)}: weights file missing (the model folder is incomplete)`);
    });
  const { artifacts, metadata } = await modelArtifacts(json, jsonPath, read, folder);
  const model = await modelFromArtifacts(artifacts, jsonPath);
  return { model, metadata, path: folder };
}

/** Reads a checkpoint's optimiser state, or throws a UserError naming what is missing or damaged. */
export async function loadOptimizerState(dir: string): Promise<OptimizerState> {
  const json = (await readJson(join(dir, 'optimizer.json'), 'the optimizer state')) as {
    name: OptimizerState['name'];
    iterations: number;
    tensors: { name: string; shape: number[] }[];
  };
  if (!Array.isArray(json?.tensors) || !json.tensors.every((t) => Array.isArray(t?.shape)) || !Number.isInteger(json.iterations)) {
    throw new UserError(`${join(dir, 'optimizer.json')}: damaged optimizer state`);
  }
  const bytes = await readFile(join(dir, 'optimizer.bin')).catch(() => {
    throw new UserError(`${join(dir, 'optimizer.bin')}: optimizer state missing`);
  });
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const sizes = json.tensors.map((t) => t.shape.reduce((a, b) => a * b, 1));
  if (sizes.reduce((a, b) => a + b, 0) !== values.length || bytes.byteLength % 4 !== 0) {
    throw new UserError(`${dir}: optimizer.bin does not match optimizer.json (damaged checkpoint)`);
  }
  let offset = 0;
  const tensors = json.tensors.map((t, i) => {
    const slice = values.subarray(offset, offset + sizes[i]);
    offset += sizes[i];
    return { name: t.name, shape: t.shape, values: slice };
  });
  return { name: json.name, iterations: json.iterations, tensors };
}

/** The numeric fields of a history record (history.jsonl, state.json). */
const EPOCH_NUMBERS: ReadonlyArray<keyof EpochRecord> = ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', 'seconds'];

export async function loadLoopState(dir: string): Promise<LoopState> {
  const state = (await readJson(join(dir, 'state.json'), 'the loop state')) as LoopState;
  if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Array.isArray(state.history)) {
    throw new UserError(`${join(dir, 'state.json')}: not a valid checkpoint state (damaged checkpoint)`);
  }
  // Non-finite numbers are written as "NaN", "Infinity", "-Infinity" (json.ts).
  state.history = state.history.map((r) => reviveNumbers(r, EPOCH_NUMBERS));
  if (state.best) state.best = reviveNumbers(state.best, ['accuracy', 'loss']);
  return state;
}

export async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
