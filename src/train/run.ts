// A whole training run as the CLI starts it: engine, data, model, output folder, the loop, and the
// files a run leaves behind (config.json, history.jsonl, curves.svg, best/, last/, model.json).
// `resumeRun` continues a run from its last/ checkpoint with the options saved in its config.json.
import { existsSync, readFileSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { startEngine, type EngineName } from '../engine/backends.js';
import { buildModel, modelInputSize } from '../models/registry.js';
import { activationBytes } from '../inspect/memory.js';
import { checkMemory } from '../io/memory.js';
import { writeFileAtomically } from '../io/atomic.js';
import { faultPoint } from '../io/faults.js';
import { makeFolder } from '../io/fs-errors.js';
import { lockRunFolder, type RunLock } from '../io/lock.js';
import { loadLoopState, loadModelFolder, loadOptimizerState, readJson, type ModelMetadata } from './checkpoint.js';
import { initWhitening, WHITEN_IMAGES } from '../models/whitening.js';
import { prepareRunData, type RunData } from './data.js';
import { freshState, type LoopState } from './loop.js';
import { fitModelToData } from './head.js';
import { openInitModel } from './init.js';
import { runPhases } from './phases.js';
import { checkOptimizerStateFits, makeOptimizer, restoreOptimizerState, type TrainOptimizer } from './optimizer.js';
import { validateOptions, type TrainOptions } from './options.js';
import { makeProgress, type Progress } from './progress.js';
import { damagedWithoutLast, holdsRun, keptCheckpoint, publishBest, repairRunFolder, saveEpoch, writeHistory } from './run-folder.js';

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

/** Refuses a batch whose activations alone cannot fit in memory, before the first step tries. */
function checkBatchMemory(o: TrainOptions, model: tf.LayersModel, data: RunData): void {
  const [h, w, c] = data.inputShape;
  const batch = Math.min(o.batchSize, data.train.size);
  checkMemory(activationBytes(model, batch), `training ${o.model} on batches of ${batch} images of ${h}x${w}x${c}`, 'use a smaller --batch-size or --image-size');
}

export function countParams(weights: tf.LayerVariable[]): number {
  return weights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

async function loop(
  out: string,
  lock: RunLock,
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
      onEpochEnd: (s, improved) => saveEpoch({ out, lock, model, optimizer, metadata }, s, improved),
    }).catch((error: unknown) => {
      // The loop stops at the first non-finite loss: say what was kept.
      if (error instanceof UserError && /^training diverged: /.test(error.message)) {
        throw new UserError(`${error.message}; ${keptCheckpoint(out, state.epoch)}`);
      }
      throw error;
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

/** Prepares the engine, data and model, then takes the folder (`claim`) and writes config.json: a run
 *  starting from epoch 0 in `o.out`. */
async function startRun(o: TrainOptions, claim: () => Promise<RunLock>, progress: Progress, hooks: RunHooks): Promise<RunResult> {
  const engine = await startEngine(o.backend, o.precision);
  const init = o.init !== undefined ? await openInitModel(o.init) : undefined;
  if (init) o.model = init.metadata.model; // fine-tuning (finetune.ts): the loaded architecture
  let data: RunData;
  try {
    data = await prepareRunData(o, progress, !o.imageSize && init ? [init.inputShape[0], init.inputShape[1]] : undefined, init?.inputShape[2]);
  } catch (error) {
    init?.model.dispose();
    throw error;
  }
  let model: tf.LayersModel | undefined;
  let notes: string[] = [];
  let whitened = false;
  try {
    if (init) ({ model, notes } = await fitModelToData(init, { classNames: data.classNames, inputShape: data.inputShape }, o.seed + 1));
    else model = makeModel(o, data.inputShape, data.classNames.length);
    checkBatchMemory(o, model, data);
    // A whitening stem (resnet-airbench) takes its weights from the training images before training;
    // a fine-tuned model keeps the one it was trained with.
    if (!init) whitened = await initWhitening(model, data.train);
  } catch (error) {
    model?.dispose();
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
  let lock: RunLock;
  try {
    lock = await claim();
    await writeFileAtomically(join(o.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  } catch (error) {
    model.dispose();
    await data.close();
    throw error;
  }
  faultPoint('config-written');
  progress.log(
    `training ${o.model} (${config.model.parameters} parameters)${o.recipe ? ` with the ${o.recipe} recipe` : ''} on ${data.source}: ${data.train.size} training / ${validation} validation images` +
      `${data.test ? ` (+ ${data.test.size} test images from ${o.evalData}, evaluated after ${evalWhen(o)}, never used to choose)` : ''}, ` +
      `${h}x${w}x${c}, ${data.classNames.length} classes; engine ${engine}; output ${o.out}`,
  );
  if (init) progress.log(`starting from the weights of ${o.init}`);
  if (whitened) progress.log(`whitening stem set from the patch statistics of ${Math.min(data.train.size, WHITEN_IMAGES)} training images`);
  for (const note of notes) progress.log(note);
  const { epoch: _, ...carried } = init?.metadata ?? {};
  const optimizer = makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum, o.biasLrScale ?? 1);
  return loop(o.out, lock, o, engine, model, optimizer, data, freshState(), { ...hooks, progress }, carried);
}

/**
 * A new run into `o.out` (which must not already hold one). An existing folder is locked and checked
 * before the data loads (a busy or used folder is refused at once); a new one is created only once the
 * data and model are ready, so a mistake in them leaves nothing behind.
 */
export async function trainRun(options: TrainOptions, hooks: RunHooks = {}): Promise<RunResult> {
  validateOptions(options);
  const o = { ...options };
  const progress = hooks.progress ?? makeProgress();
  const held: { lock: RunLock | null; created: boolean } = { lock: null, created: false };
  const claim = async (): Promise<RunLock> => {
    if (held.lock) return held.lock;
    held.created = !existsSync(o.out);
    await makeFolder(o.out, 'cannot create the output folder');
    held.lock = await lockRunFolder(o.out, (line) => progress.log(line));
    // A folder with only config.json is a run that died before its first epoch: nothing to lose there.
    await repairRunFolder(o.out);
    if (holdsRun(o.out)) throw new UserError(`${o.out} already holds a training run; continue it with --resume ${o.out} or choose another --out`);
    faultPoint('locked');
    return held.lock;
  };
  try {
    if (existsSync(o.out)) await claim();
    return await startRun(o, claim, progress, hooks);
  } finally {
    await held.lock?.release();
    // A folder this call created and left empty (it failed before config.json) goes too.
    if (held.created) await rmdir(o.out).catch(() => undefined);
  }
}

/** Reads and checks config.json of the run in `dir`. */
export async function readRunConfig(dir: string): Promise<RunConfig> {
  const path = join(dir, 'config.json');
  if (typeof dir !== 'string' || dir === '') throw new UserError(`--resume needs a run folder, got ${JSON.stringify(dir)}`);
  if (!existsSync(dir)) throw new UserError(`--resume: folder '${dir}' does not exist`);
  if (!existsSync(path)) throw new UserError(`--resume: '${dir}' is not a training run folder (no config.json)`);
  const config = (await readJson(path, 'the run configuration')) as RunConfig;
  if (typeof config !== 'object' || config === null || typeof config.options !== 'object' || config.options === null) {
    throw new UserError(`${path}: damaged run configuration (no options)`);
  }
  if (!Array.isArray(config.resumed)) config.resumed = [];
  return config;
}

/** What a resumed run may change; undefined keeps the saved option. */
export interface ResumeOverrides {
  epochs?: number;
  backend?: string;
  precision?: string;
  cacheDir?: string;
  maxMemory?: number;
  dataWorkers?: number;
}

/** Continues the run in `dir` from last/; `overrides` may raise the epoch count or change the engine.
 *  A run that stopped before its first checkpoint starts again from the beginning with its saved options. */
export async function resumeRun(dir: string, overrides: ResumeOverrides = {}, hooks: RunHooks = {}): Promise<RunResult> {
  const config = await readRunConfig(dir);
  if ('distributed' in config) throw new UserError(`--resume: '${dir}' was trained with --distributed, whose runs cannot be resumed yet`);
  const progress = hooks.progress ?? makeProgress();
  const lock = await lockRunFolder(dir, (line) => progress.log(line));
  try {
    await repairRunFolder(dir);
    const lastDir = join(dir, 'last');
    const changed = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
    // Runs saved before --precision and --clip-norm existed computed in float32 without clipping.
    const saved = config.options as Partial<TrainOptions>;
    const o: TrainOptions = { ...config.options, precision: saved.precision ?? 'float32', clipNorm: saved.clipNorm ?? 0, out: dir, ...changed };
    validateOptions(o);
    if (!existsSync(join(lastDir, 'state.json'))) {
      if (holdsRun(dir)) throw damagedWithoutLast(dir);
      progress.log(`${dir} has no checkpoint yet (the run stopped before its first epoch ended): starting it again from the beginning`);
      return await startRun(o, async () => lock, progress, hooks);
    }
    const state = await loadLoopState(lastDir);
    const optimizerState = await loadOptimizerState(lastDir);
    const engine = await startEngine(o.backend, o.precision);
    const { model, metadata } = await loadModelFolder(lastDir);
    // The checkpoint's input size, unless the options give it (so the decoded-data cache is found again):
    // a run saved before the model's own size became the default resumes at the size it had.
    const [savedH, savedW] = metadata.inputShape;
    const implied = o.imageSize ?? modelInputSize(o.model);
    let data: RunData;
    try {
      data = await prepareRunData(o, progress, implied === savedH && implied === savedW ? undefined : [savedH, savedW], o.init !== undefined ? metadata.inputShape[2] : undefined);
    } catch (error) {
      model.dispose();
      throw error;
    }
    const [h, w, c] = data.inputShape;
    const fits = metadata.inputShape.join('x') === [h, w, c].join('x') && metadata.classNames.join('\n') === data.classNames.join('\n');
    let problem: UserError | null = null;
    try {
      const stateProblem = fits ? checkOptimizerStateFits(optimizerState, model.trainableWeights.map((v) => v.shape as number[])) : null;
      if (stateProblem) problem = new UserError(`${join(lastDir, 'optimizer.json')}: ${stateProblem} (damaged checkpoint)`);
      else if (!fits) {
        problem = new UserError(
          `--resume: the checkpoint's model (${metadata.inputShape.join('x')}, classes ${metadata.classNames.join(', ').slice(0, 200)}) does not fit the data (${h}x${w}x${c}, classes ${data.classNames.join(', ').slice(0, 200)})`,
        );
      } else checkBatchMemory(o, model, data);
    } catch (error) {
      problem = error as UserError;
    }
    if (problem) {
      model.dispose();
      await data.close();
      throw problem;
    }
    const optimizer = makeOptimizer(o.optimizer, o.lr, o.weightDecay, o.momentum, o.biasLrScale ?? 1);
    await restoreOptimizerState(optimizer, optimizerState);
    config.options = o;
    config.resumed.push({ at: new Date().toISOString(), fromEpoch: state.epoch, engine });
    try {
      await writeFileAtomically(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
      await writeHistory(dir, state); // derived files a kill may have left one epoch behind
    } catch (error) {
      optimizer.dispose();
      model.dispose();
      await data.close();
      throw error;
    }
    progress.log(`resuming ${dir} after epoch ${state.epoch} of ${o.epochs}; engine ${engine}`);
    const { epoch: _, ...carried } = metadata;
    return await loop(dir, lock, o, engine, model, optimizer, data, state, { ...hooks, progress }, carried);
  } finally {
    await lock.release();
  }
}

/** When --eval-data is evaluated, in words (the run's first log line). */
function evalWhen(o: TrainOptions): string {
  const every = o.evalEvery ?? 1;
  if (every === 1) return 'every epoch';
  return every >= o.epochs ? 'the last epoch only' : `every ${every} epochs and the last`;
}
