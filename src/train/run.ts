// A whole training run as the CLI starts it: engine, data, model, output folder, the loop, and the
// files a run leaves behind (config.json, history.jsonl, curves.svg, best/, last/, model.json).
// `resumeRun` continues a run from its last/ checkpoint with the options saved in its config.json.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { startEngine, type EngineName } from '../engine/backends.js';
import { buildModel, modelInputSize } from '../models/registry.js';
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
import { prepareRunData, type RunData } from './data.js';
import { freshState, type LoopState } from './loop.js';
import { toJson } from './json.js';
import { fitModelToData } from './head.js';
import { openInitModel } from './init.js';
import { runPhases } from './phases.js';
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
  data: {
    source: string;
    images: number;
    train: number;
    validation: number;
    classNames: string[];
    inputShape: [number, number, number];
    /** How images of another size were resized (absent in runs written before resize modes). */
    resize?: RunData['resize'];
  };
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


export function makeModel(o: TrainOptions, inputShape: [number, number, number], classes: number): tf.LayersModel {
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

export function countParams(weights: tf.LayerVariable[]): number {
  return weights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/** Writes the per-epoch files. Order matters for a kill at any point: best/ before last/ (last/'s state
 *  names the best epoch), history.jsonl and curves.svg are derived from last/'s state. Without an
 *  optimizer (a run trained elsewhere, src/distributed/) last/ holds no optimizer state. */
export async function saveEpoch(
  out: string,
  model: tf.LayersModel,
  optimizer: TrainOptimizer | null,
  state: LoopState,
  improved: boolean,
  metadata: Omit<ModelMetadata, 'epoch'>,
): Promise<void> {
  const stateJson = toJson(state);
  const files = await modelFiles(model, { ...metadata, epoch: state.epoch });
  if (improved) await writeFolderAtomically(join(out, 'best'), { ...files, 'state.json': stateJson });
  const optimizerState = optimizer ? optimizerFiles(await saveOptimizerState(optimizer)) : {};
  await writeFolderAtomically(join(out, 'last'), { ...files, ...optimizerState, 'state.json': stateJson });
  await writeFileAtomically(join(out, 'history.jsonl'), state.history.map((r) => toJson(r)).join('\n') + '\n');
  await writeFileAtomically(join(out, 'curves.svg'), await curvesSvg(state.history));
}

/** Copies best/'s model to the run folder's top level: the model `resnet evaluate --model OUT` uses. */
export async function publishBest(out: string): Promise<void> {
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
  data: RunData,
  state: LoopState,
  hooks: RunHooks,
  carried: Partial<ModelMetadata> = {},
): Promise<RunResult> {
  const progress = hooks.progress ?? makeProgress();
  // `carried`: what the --init model's folder said about it (e.g. its input preprocessing).
  const metadata = { ...carried, model: o.model, classNames: data.classNames, inputShape: data.inputShape, resize: data.resize };
  try {
    const ended = await runPhases({
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
    await data.close();
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
  const progress = hooks.progress ?? makeProgress();
  const init = o.init !== undefined ? await openInitModel(o.init) : undefined;
  if (init) o.model = init.metadata.model; // fine-tuning (finetune.ts): the loaded architecture
  let data: RunData;
  try {
    data = await prepareRunData(o, progress, !o.imageSize && init ? [init.inputShape[0], init.inputShape[1]] : undefined, init?.inputShape[2]);
  } catch (error) {
    init?.model.dispose();
    throw error;
  }
  let model: tf.LayersModel;
  let notes: string[] = [];
  try {
    if (init) ({ model, notes } = await fitModelToData(init, { classNames: data.classNames, inputShape: data.inputShape }, o.seed + 1));
    else model = makeModel(o, data.inputShape, data.classNames.length);
  } catch (error) {
    await data.close();
    throw error;
  }
  // A whitening stem (resnet-airbench) takes its weights from the training images before training;
  // a fine-tuned model keeps the one it was trained with.
  let whitened = false;
  try {
    if (!init) whitened = await initWhitening(model, data.train);
  } catch (error) {
    model.dispose();
    await data.close();
    throw error;
  }
  const [h, w, c] = data.inputShape;
  const validation = data.val?.size ?? 0;
  const config: RunConfig = {
    options: o,
    data: { source: data.source, images: data.images, train: data.train.size, validation, classNames: data.classNames, inputShape: data.inputShape, resize: data.resize },
    model: { name: o.model, parameters: countParams(model.weights), trainableParameters: countParams(model.trainableWeights) },
    engine,
    versions: versions(),
    created: new Date().toISOString(),
    resumed: [],
  };
  const optimizer = makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum, o.biasLrScale ?? 1);
  try {
    await mkdir(o.out, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`cannot create the output folder '${o.out}' (${error.code ?? error.message})`);
    });
    await writeFileAtomically(join(o.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  } catch (error) {
    optimizer.dispose();
    model.dispose();
    await data.close();
    throw error;
  }
  progress.log(
    `training ${o.model} (${config.model.parameters} parameters)${o.recipe ? ` with the ${o.recipe} recipe` : ''} on ${data.source}: ${data.train.size} training / ${validation} validation images` +
      `${data.test ? ` (+ ${data.test.size} test images from ${o.evalData}, evaluated after every epoch, never used to choose)` : ''}, ` +
      `${h}x${w}x${c}, ${data.classNames.length} classes; engine ${engine}; output ${o.out}`,
  );
  if (init) progress.log(`starting from the weights of ${o.init}`);
  if (whitened) progress.log(`whitening stem set from the patch statistics of ${Math.min(data.train.size, WHITEN_IMAGES)} training images`);
  for (const note of notes) progress.log(note);
  const { epoch: _, ...carried } = init?.metadata ?? {};
  return loop(o.out, o, engine, model, optimizer, data, freshState(), { ...hooks, progress }, carried);
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
  cacheDir?: string;
  maxMemory?: number;
  dataWorkers?: number;
}

export async function resumeRun(dir: string, overrides: ResumeOverrides = {}, hooks: RunHooks = {}): Promise<RunResult> {
  const config = await readRunConfig(dir);
  if ('distributed' in config) throw new UserError(`--resume: '${dir}' was trained with --distributed, whose runs cannot be resumed yet`);
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
  const { model, metadata } = await loadModelFolder(lastDir);
  const progress = hooks.progress ?? makeProgress();
  // The checkpoint's input size, unless the options give it (so the decoded-data cache is found again):
  // a run saved before the model's own size became the default resumes at the size it had.
  const [savedH, savedW] = metadata.inputShape;
  const modelSize = modelInputSize(o.model);
  const implied = o.imageSize ?? modelSize;
  let data: RunData;
  try {
    data = await prepareRunData(o, progress, implied === savedH && implied === savedW ? undefined : [savedH, savedW], o.init !== undefined ? metadata.inputShape[2] : undefined);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const [h, w, c] = data.inputShape;
  if (metadata.inputShape.join('x') !== [h, w, c].join('x') || metadata.classNames.length !== data.classNames.length) {
    model.dispose();
    await data.close();
    throw new UserError(`--resume: the checkpoint's model (${metadata.inputShape.join('x')}, ${metadata.classNames.length} classes) does not fit the data (${h}x${w}x${c}, ${data.classNames.length} classes)`);
  }
  const optimizer = makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum, o.biasLrScale ?? 1);
  await restoreOptimizerState(optimizer, optimizerState);
  config.options = o;
  config.resumed.push({ at: new Date().toISOString(), fromEpoch: state.epoch, engine });
  await writeFileAtomically(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  progress.log(`resuming ${dir} after epoch ${state.epoch} of ${o.epochs}; engine ${engine}`);
  const { epoch: _, ...carried } = metadata;
  return loop(dir, o, engine, model, optimizer, data, state, { ...hooks, progress }, carried);
}
