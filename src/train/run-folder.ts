// The on-disk protocol of a run folder, built so that a kill at any moment leaves a folder that
// `resnet train --resume` continues (or, before config.json exists, that the same `resnet train
// --out` starts again):
//   .lock            held while a process trains into the folder (src/io/lock.ts);
//   config.json      written once the data and model are ready (atomic);
//   last/            every epoch: model, optimiser state, state.json (a whole folder, atomic);
//   best/            then, when the epoch improved: the same model and state.json. If a kill strikes
//                    before it is written, last/state.json names this epoch as the best and
//                    `repairRunFolder` copies last/'s model into best/;
//   history.jsonl, curves.svg   derived from last/state.json, rewritten on resume;
//   model.json, weights.bin     the best model, published at the end: model.json is removed first,
//                    so a kill in between leaves no mismatched pair (readers fall back to best/).
// Nothing is written for an epoch whose weights, optimiser state or figures are not finite: training
// stops with a message and the last good last/ and best/ stay. Node-only.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { recoverFolder, removeTemporaries, writeFileAtomically, writeFolderAtomically } from '../io/atomic.js';
import { faultPoint } from '../io/faults.js';
import type { RunLock } from '../io/lock.js';
import { curvesSvg } from '../plot/curves.js';
import { loadLoopState, modelFiles, optimizerFiles, type ModelMetadata } from './checkpoint.js';
import { firstNonFiniteFigure, firstNonFiniteState, firstNonFiniteWeight } from './finite.js';
import { toJson } from './json.js';
import type { LoopState } from './loop.js';
import { saveOptimizerState, type TrainOptimizer } from './optimizer.js';

/** True when `out` holds (part of) a run that must not be overwritten by a new one. */
export function holdsRun(out: string): boolean {
  return ['last', 'best', 'model.json'].some((name) => existsSync(join(out, name)));
}

/** Where the last good checkpoint is, for messages about a run that stopped. */
export function keptCheckpoint(out: string, epoch: number): string {
  return existsSync(join(out, 'last'))
    ? `the last good checkpoint (epoch ${epoch}) stays in ${join(out, 'last')} and the best in ${join(out, 'best')}`
    : 'no checkpoint had been written yet';
}

/** Puts back what a kill interrupted: half-renamed checkpoints, temporaries, a best/ not yet copied. */
export async function repairRunFolder(out: string): Promise<void> {
  await recoverFolder(join(out, 'last'));
  await recoverFolder(join(out, 'best'));
  await removeTemporaries(out);
  const last = join(out, 'last');
  if (!existsSync(join(last, 'state.json'))) return;
  const state = await loadLoopState(last);
  if (state.bestEpoch !== state.epoch || state.epoch === 0) return;
  const bestEpoch = await readFile(join(out, 'best', 'state.json'), 'utf8')
    .then((text) => (JSON.parse(text) as LoopState).epoch)
    .catch(() => null);
  if (bestEpoch === state.epoch) return;
  const files = Object.fromEntries(await Promise.all(['model.json', 'weights.bin', 'state.json'].map(async (f) => [f, await readFile(join(last, f))])));
  await writeFolderAtomically(join(out, 'best'), files);
}

/** history.jsonl and curves.svg, both derived from the loop state. */
export async function writeHistory(out: string, state: LoopState): Promise<void> {
  await writeFileAtomically(join(out, 'history.jsonl'), state.history.map((r) => toJson(r)).join('\n') + (state.history.length ? '\n' : ''));
  await writeFileAtomically(join(out, 'curves.svg'), await curvesSvg(state.history));
}

export interface EpochWriter {
  out: string;
  lock: RunLock;
  model: tf.LayersModel;
  /** null: a run trained elsewhere (src/distributed/), whose last/ holds no optimizer state. */
  optimizer: TrainOptimizer | null;
  metadata: Omit<ModelMetadata, 'epoch'>;
}

/** Writes the checkpoints of the epoch just ended (see the protocol above), or refuses a diverged one. */
export async function saveEpoch(w: EpochWriter, state: LoopState, improved: boolean): Promise<void> {
  const optimizerState = w.optimizer ? await saveOptimizerState(w.optimizer) : null;
  const record = state.history[state.history.length - 1];
  const figure = record ? firstNonFiniteFigure(record) : null;
  const weight = figure ? null : firstNonFiniteWeight(w.model);
  const moment = figure || weight || !optimizerState ? null : firstNonFiniteState(optimizerState);
  const problem = figure ?? (weight ? `weight '${weight}' is not finite` : moment ? `optimizer state '${moment}' is not finite` : null);
  if (problem) {
    throw new UserError(`training diverged in epoch ${state.epoch} (${problem}); nothing of that epoch was saved: ${keptCheckpoint(w.out, state.epoch - 1)} (try a lower --lr, --clip-norm or warm-up)`);
  }
  await w.lock.verify();
  const files = await modelFiles(w.model, { ...w.metadata, epoch: state.epoch });
  const stateJson = toJson(state);
  await writeFolderAtomically(join(w.out, 'last'), { ...files, ...(optimizerState ? optimizerFiles(optimizerState) : {}), 'state.json': stateJson });
  if (improved) await writeFolderAtomically(join(w.out, 'best'), { ...files, 'state.json': stateJson });
  await writeHistory(w.out, state);
}

/** Copies best/'s model to the run folder's top level: the model `resnet evaluate --model OUT` uses. */
export async function publishBest(out: string): Promise<void> {
  const best = join(out, existsSync(join(out, 'best', 'model.json')) ? 'best' : 'last');
  await rm(join(out, 'model.json'), { force: true });
  faultPoint('published:model.json-removed');
  await writeFileAtomically(join(out, 'weights.bin'), await readFile(join(best, 'weights.bin')));
  await writeFileAtomically(join(out, 'model.json'), await readFile(join(best, 'model.json')));
}

/** Throws the UserError for a folder whose last/ is gone but which still holds a model. */
export function damagedWithoutLast(out: string): UserError {
  return new UserError(`--resume: '${out}' has no checkpoint yet (last/ is missing) but holds a model in best/ or model.json: a damaged run folder; train into another --out`);
}
