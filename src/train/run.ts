// A whole training run as the CLI starts it: engine, data, model, output folder, the loop, and the
// files a run leaves behind (config.json, history.jsonl, curves.svg, best/, last/, model.json).
// `resumeRun` continues a run from its last/ checkpoint with the options saved in its config.json.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { startEngine, type EngineName } from '../engine/backends.js';
import { stratifiedSplit } from '../data/index.js';
import { loadDataset } from '../data/node.js';
import type { ImageDataset } from '../data/types.js';
import { buildModel } from '../models/registry.js';
import { initWhitening, WHITEN_IMAGES } from '../models/whitening.js';
import { curvesSvg } from '../plot/curves.js';
import {
  loadLoopState,
  loadModelFolder,
  loadOptimizerState,
  modelFiles,
  optimizerFiles,
  recoverFolder,
  writeFileAtomically,
  writeFolderAtomically,
  type ModelMetadata,
} from './checkpoint.js';
import { alignClasses } from './evaluate.js';
import { freshState, runEpochs, type LoopState } from './loop.js';
import { makeOptimizer, restoreOptimizerState, saveOptimizerState, type TrainOptimizer } from './optimizer.js';
import { validateOptions, type TrainOptions } from './options.js';
import { makeProgress, type Progress } from './progress.js';

export interface RunHooks {
  progress?: Progress;
  /** Stop after this many epochs, as a kill would (tests of --resume). */
  stopAfterEpochs?: number;
}

export interface RunResult {
  out: string;
  engine: EngineName;
  state: LoopState;
  ended: 'completed' | 'early-stopped' | 'interrupted';
}

/** What config.json holds. */
export interface RunConfig {
  options: TrainOptions;
  data: { source: string; images: number; train: number; validation: number; classNames: string[]; inputShape: [number, number, number] };
  model: { name: string; parameters: number; trainableParameters: number };
  engine: EngineName;
  versions: Record<string, string>;
  created: string;
  resumed: { at: string; fromEpoch: number; engine: EngineName }[];
}

function projectVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

export function versions(): Record<string, string> {
  return { 'resnet-ts': projectVersion(), 'tfjs-core': tf.version_core, 'tfjs-layers': tf.version_layers, node: process.versions.node };
}


interface Splits {
  all: ImageDataset;
  train: ImageDataset;
  val: ImageDataset | null;
  /** --eval-data, in the training data's class order. */
  test: ImageDataset | null;
}

async function loadSplits(o: TrainOptions): Promise<Splits> {
  const size: [number, number] | undefined = o.imageSize ? [o.imageSize, o.imageSize] : undefined;
  const all = await loadDataset(o.data, { imageSize: size, limit: o.limit });
  if (all.shape[0] === 0) throw new UserError(`${o.data ?? 'mnist'}: no images`);
  const test = o.evalData === undefined ? null : await loadEvalData(o.evalData, all);
  if (o.valSplit === 0) return { all, train: all, val: null, test };
  const { train, val } = stratifiedSplit(all, o.valSplit, o.seed);
  if (train.shape[0] === 0) throw new UserError(`--val-split ${o.valSplit} leaves no training images`);
  return { all, train, val: val.shape[0] > 0 ? val : null, test };
}

/** The --eval-data set, decoded like the training data (same size and channels) and labelled in its class order. */
async function loadEvalData(path: string, train: ImageDataset): Promise<ImageDataset> {
  const [, h, w, c] = train.shape;
  const test = await loadDataset(path, { imageSize: [h, w], channels: c });
  if (test.shape[0] === 0) throw new UserError(`--eval-data ${path}: no images`);
  return alignClasses(test, train.classNames);
}

function makeModel(o: TrainOptions, inputShape: [number, number, number], classes: number): tf.LayersModel {
  try {
    return buildModel(o.model, { inputShape, classes });
  } catch (error) {
    if (error instanceof UserError) throw error;
    const reason = (error as Error).message.split('\n')[0];
    throw new UserError(
      `model '${o.model}' cannot be built for ${inputShape.join('x')} images (${reason}); use a larger --image-size or a model made for small images`,
    );
  }
}

function countParams(weights: tf.LayerVariable[]): number {
  return weights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/** Writes the per-epoch files. Order matters for a kill at any point: best/ before last/ (last/'s state
 *  names the best epoch), history.jsonl and curves.svg are derived from last/'s state. */
async function saveEpoch(
  out: string,
  model: tf.LayersModel,
  optimizer: TrainOptimizer,
  state: LoopState,
  improved: boolean,
  metadata: Omit<ModelMetadata, 'epoch'>,
): Promise<void> {
  const stateJson = JSON.stringify(state);
  const files = await modelFiles(model, { ...metadata, epoch: state.epoch });
  if (improved) await writeFolderAtomically(join(out, 'best'), { ...files, 'state.json': stateJson });
  const optimizerState = optimizerFiles(await saveOptimizerState(optimizer));
  await writeFolderAtomically(join(out, 'last'), { ...files, ...optimizerState, 'state.json': stateJson });
  await writeFileAtomically(join(out, 'history.jsonl'), state.history.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await writeFileAtomically(join(out, 'curves.svg'), await curvesSvg(state.history));
}

/** Copies best/'s model to the run folder's top level: the model `resnet evaluate --model OUT` uses. */
async function publishBest(out: string): Promise<void> {
  const best = join(out, existsSync(join(out, 'best', 'model.json')) ? 'best' : 'last');
  // Weights first: a kill in between leaves the old model.json, whose size check then flags the pair.
  await writeFileAtomically(join(out, 'weights.bin'), await readFile(join(best, 'weights.bin')));
  await writeFileAtomically(join(out, 'model.json'), await readFile(join(best, 'model.json')));
}

async function loop(
  out: string,
  o: TrainOptions,
  engine: EngineName,
  model: tf.LayersModel,
  optimizer: TrainOptimizer,
  data: { train: ImageDataset; val: ImageDataset | null; test: ImageDataset | null },
  state: LoopState,
  hooks: RunHooks,
): Promise<RunResult> {
  const progress = hooks.progress ?? makeProgress();
  const [, h, w, c] = data.train.shape;
  const metadata = { model: o.model, classNames: data.train.classNames, inputShape: [h, w, c] as [number, number, number] };
  try {
    const ended = await runEpochs({
      model,
      optimizer,
      train: data.train,
      val: data.val,
      test: data.test,
      options: o,
      state,
      progress,
      stopAfterEpochs: hooks.stopAfterEpochs,
      onEpochEnd: (s, improved) => saveEpoch(out, model, optimizer, s, improved, metadata),
    });
    if (ended !== 'interrupted') {
      await publishBest(out);
      const best = state.history[state.bestEpoch - 1];
      const why = ended === 'early-stopped' ? `stopped early after epoch ${state.epoch} (patience ${o.earlyStopping})` : `finished ${state.epoch} epochs`;
      const score = best?.val_accuracy != null ? `val_acc ${best.val_accuracy.toFixed(4)}` : `acc ${best?.accuracy.toFixed(4)}`;
      progress.log(`${why}; best epoch ${state.bestEpoch} (${score}); model in ${out}`);
    }
    return { out, engine, state, ended };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** A new run into `o.out` (which must not already hold one). */
export async function trainRun(options: TrainOptions, hooks: RunHooks = {}): Promise<RunResult> {
  validateOptions(options);
  const o = { ...options };
  // A folder with only config.json is a run that died before its first epoch: nothing to lose there.
  if (['last', 'best', 'model.json'].some((name) => existsSync(join(o.out, name)))) {
    throw new UserError(`${o.out} already holds a training run; continue it with --resume ${o.out} or choose another --out`);
  }
  const engine = await startEngine(o.backend, o.precision);
  const { all, train, val, test } = await loadSplits(o);
  const [, h, w, c] = all.shape;
  const model = makeModel(o, [h, w, c], all.classNames.length);
  // A whitening stem (resnet-airbench) takes its weights from the training images before training.
  const whitened = initWhitening(model, train);
  const config: RunConfig = {
    options: o,
    data: { source: all.source, images: all.shape[0], train: train.shape[0], validation: val?.shape[0] ?? 0, classNames: all.classNames, inputShape: [h, w, c] },
    model: { name: o.model, parameters: countParams(model.weights), trainableParameters: countParams(model.trainableWeights) },
    engine,
    versions: versions(),
    created: new Date().toISOString(),
    resumed: [],
  };
  await mkdir(o.out, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot create the output folder '${o.out}' (${error.code ?? error.message})`);
  });
  await writeFileAtomically(join(o.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const progress = hooks.progress ?? makeProgress();
  progress.log(
    `training ${o.model} (${config.model.parameters} parameters) on ${all.source}: ${train.shape[0]} training / ${config.data.validation} validation images` +
      `${test ? ` (+ ${test.shape[0]} test images from ${o.evalData}, evaluated after every epoch, never used to choose)` : ''}, ` +
      `${h}x${w}x${c}, ${all.classNames.length} classes; engine ${engine}; output ${o.out}`,
  );
  if (whitened) progress.log(`whitening stem set from the patch statistics of ${Math.min(train.shape[0], WHITEN_IMAGES)} training images`);
  const optimizer = makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum, o.biasLrScale ?? 1);
  return loop(o.out, o, engine, model, optimizer, { train, val, test }, freshState(), { ...hooks, progress });
}

export async function readRunConfig(dir: string): Promise<RunConfig> {
  const path = join(dir, 'config.json');
  if (!existsSync(dir)) throw new UserError(`--resume: folder '${dir}' does not exist`);
  if (!existsSync(path)) throw new UserError(`--resume: '${dir}' is not a training run folder (no config.json)`);
  try {
    const config = JSON.parse(await readFile(path, 'utf8')) as RunConfig;
    if (typeof config.options !== 'object' || config.options === null) throw new Error('no options');
    return config;
  } catch (error) {
    throw new UserError(`${path}: damaged run configuration (${(error as Error).message})`);
  }
}

/** Continues the run in `dir` from last/; `overrides` may raise the epoch count or change the engine. */
/** What a resumed run may change; undefined keeps the saved option. */
export interface ResumeOverrides {
  epochs?: number;
  backend?: string;
  precision?: string;
}

export async function resumeRun(dir: string, overrides: ResumeOverrides = {}, hooks: RunHooks = {}): Promise<RunResult> {
  const config = await readRunConfig(dir);
  const lastDir = join(dir, 'last');
  await recoverFolder(lastDir);
  await recoverFolder(join(dir, 'best'));
  if (!existsSync(join(lastDir, 'state.json'))) {
    throw new UserError(`--resume: '${dir}' has no checkpoint yet (last/ is missing: the run ended before its first epoch)`);
  }
  const changed = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  // Runs saved before --precision and --clip-norm existed computed in float32 without clipping.
  const saved = config.options as Partial<TrainOptions>;
  const o: TrainOptions = { ...config.options, precision: saved.precision ?? 'float32', clipNorm: saved.clipNorm ?? 0, out: dir, ...changed };
  validateOptions(o);
  const state = await loadLoopState(lastDir);
  const optimizerState = await loadOptimizerState(lastDir);
  const engine = await startEngine(o.backend, o.precision);
  const { train, val, test } = await loadSplits(o);
  const { model, metadata } = await loadModelFolder(lastDir);
  const [, h, w, c] = train.shape;
  if (metadata.inputShape.join('x') !== [h, w, c].join('x') || metadata.classNames.length !== train.classNames.length) {
    model.dispose();
    throw new UserError(`--resume: the checkpoint's model (${metadata.inputShape.join('x')}, ${metadata.classNames.length} classes) does not fit the data (${h}x${w}x${c}, ${train.classNames.length} classes)`);
  }
  const optimizer = makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum, o.biasLrScale ?? 1);
  await restoreOptimizerState(optimizer, optimizerState);
  config.options = o;
  config.resumed.push({ at: new Date().toISOString(), fromEpoch: state.epoch, engine });
  await writeFileAtomically(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const progress = hooks.progress ?? makeProgress();
  progress.log(`resuming ${dir} after epoch ${state.epoch} of ${o.epochs}; engine ${engine}`);
  return loop(dir, o, engine, model, optimizer, { train, val, test }, state, { ...hooks, progress });
}
