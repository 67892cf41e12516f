// Node-only: `resnet train --distributed jax`: the same model and recipe trained by Keras 3 on JAX,
// data-parallel over N Python processes (python/resnet_ts/jax_train.py), on this machine over
// loopback or across machines through a coordinator address. This side loads and splits the data with
// the project's own readers, builds the model (its initial weights go to every process), writes the
// job folder (job.ts), starts the processes and streams their progress; process 0 hands back the
// weights after every epoch, and this side then does what the local trainer does after an epoch
// (precise-BN recalibration, validation, best/ and last/, history.jsonl, curves.svg), so the result
// is an ordinary run folder that `resnet evaluate` reads. A failed process stops the others and
// becomes one error line.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { UserError } from '../errors.js';
import { stratifiedSplit, type ImageDataset } from '../data/index.js';
import { loadDataset } from '../data/node.js';
import { modelInputSize } from '../models/registry.js';
import { startEngine } from '../engine/backends.js';
import type { EpochRecord } from '../plot/curves.js';
import { writeFileAtomically } from '../train/checkpoint.js';
import { evaluateModel } from '../train/evaluate.js';
import { freshState, isBetter, monitored, seedFor } from '../train/loop.js';
import { validateOptions, type TrainOptions } from '../train/options.js';
import { makeProgress } from '../train/progress.js';
import { recalibrateBatchNorm } from '../train/recalibrate.js';
import { countParams, makeModel, versions, type RunConfig, type RunHooks, type RunResult } from '../train/run.js';
import { publishBest, saveEpoch } from '../train/run-folder.js';
import { lockRunFolder, type RunLock } from '../io/lock.js';
import { setFlatWeights, writeJob } from './job.js';
import { parseCoordinator, validateDistributed, type DistributedOptions } from './options.js';
import { findPython, PYTHON_PACKAGE_DIR } from './python.js';

/** Largest difference allowed between the TF.js model's probabilities and the Keras rebuild's on the probe batch. */
export const PROBE_TOLERANCE = 1e-4;

/** One line of a Python process's stdout. */
interface JaxEvent {
  event: 'start' | 'check' | 'epoch_start' | 'step' | 'epoch' | 'done' | 'error';
  [key: string]: unknown;
}

/** What the distributed run adds to config.json. */
export interface DistributedRunConfig extends RunConfig {
  distributed: DistributedOptions & { python: string };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Worker {
  id: number;
  child: ChildProcess;
  log: string;
  lastError: string | null;
  lastLine: string;
  exit: Promise<number | null>;
}

function startWorker(python: string, jobDir: string, id: number, threads: number, onEvent: (e: JaxEvent) => void): Worker {
  const env = {
    ...process.env,
    PYTHONPATH: [PYTHON_PACKAGE_DIR, process.env.PYTHONPATH].filter(Boolean).join(':'),
    KERAS_BACKEND: 'jax',
    JAX_PLATFORMS: 'cpu',
    TF_CPP_MIN_LOG_LEVEL: '2',
    // One process per core: XLA's own thread pool off; otherwise its pool, sized by the host.
    ...(threads === 1 ? { XLA_FLAGS: '--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1' } : {}),
  };
  const child = spawn(python, ['-u', '-m', 'resnet_ts.jax_train', jobDir, '--process-id', String(id)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = join(jobDir, `process-${id}.log`);
  const worker: Worker = { id, child, log, lastError: null, lastLine: '', exit: Promise.resolve(null) };
  const logFile = createWriteStream(log);
  child.stderr!.pipe(logFile);
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.trim() !== '') worker.lastLine = line.trim();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: JaxEvent;
    try {
      event = JSON.parse(line) as JaxEvent;
    } catch {
      return; // not an event: the Python side keeps its stdout for events, so this is rare noise
    }
    if (event.event === 'error') worker.lastError = String(event.message);
    onEvent(event);
  });
  worker.exit = new Promise((resolve) => {
    child.once('error', (error) => {
      worker.lastError = `cannot start ${python}: ${error.message}`;
      resolve(-1);
    });
    child.once('exit', (code, signal) => logFile.end(() => resolve(signal ? -1 : code)));
  });
  return worker;
}

/** A new distributed run into `o.out` (which must not already hold one). */
export async function trainDistributed(options: TrainOptions, d: DistributedOptions, hooks: RunHooks = {}): Promise<RunResult> {
  validateOptions(options);
  validateDistributed(d, options);
  const o = { ...options };
  if (['last', 'best', 'model.json'].some((name) => existsSync(join(o.out, name)))) {
    throw new UserError(`${o.out} already holds a training run; choose another --out`);
  }
  const found = findPython();
  if ('reason' in found) throw new UserError(`--distributed jax: ${found.reason}`);
  const engine = await startEngine(o.backend, o.precision);
  const { all, train, val } = await loadSplits(o);
  const [, h, w, c] = all.shape;
  const model = makeModel(o, [h, w, c], all.classNames.length);
  const progress = hooks.progress ?? makeProgress();
  const here = d.processId === undefined ? Array.from({ length: d.processes }, (_, i) => i) : [d.processId];
  const threads = d.threads ?? Math.max(1, Math.floor(availableParallelism() / here.length));
  const workers: Worker[] = [];
  let lock: RunLock | null = null;
  try {
    const coordinator = d.coordinator ?? `127.0.0.1:${await freePort()}`;
    parseCoordinator(coordinator);
    const config: DistributedRunConfig = {
      options: o,
      data: { source: all.source, images: all.shape[0], train: train.shape[0], validation: val?.shape[0] ?? 0, classNames: all.classNames, inputShape: [h, w, c] },
      model: { name: o.model, parameters: countParams(model.weights), trainableParameters: countParams(model.trainableWeights) },
      engine,
      versions: versions(),
      created: new Date().toISOString(),
      resumed: [],
      distributed: { ...d, coordinator, threads, python: found.python },
    };
    await mkdir(o.out, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`cannot create the output folder '${o.out}' (${error.code ?? error.message})`);
    });
    lock = await lockRunFolder(o.out, (line) => progress.log(line));
    await writeFileAtomically(join(o.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const jobDir = join(o.out, 'jax');
    await writeJob(jobDir, o, model, train, d.processes, coordinator);
    progress.log(
      `training ${o.model} (${config.model.parameters} parameters) on ${all.source}: ${train.shape[0]} training / ${config.data.validation} validation images, ` +
        `${h}x${w}x${c}, ${all.classNames.length} classes; Keras on JAX, ${d.processes} process${d.processes > 1 ? 'es' : ''} ` +
        `(here: ${here.join(', ')}; coordinator ${coordinator}; ${threads} thread${threads > 1 ? 's' : ''} each); output ${o.out}`,
    );

    // Process 0's epochs are finished here one at a time, in order, as its weights arrive.
    const state = freshState();
    const metadata = { model: o.model, classNames: all.classNames, inputShape: [h, w, c] as [number, number, number] };
    let chain: Promise<void> = Promise.resolve();
    let failure: unknown = null;
    const finishEpoch = async (e: JaxEvent) => {
      const epoch = Number(e.epoch);
      const file = join(jobDir, String(e.weights));
      const bytes = await readFile(file);
      setFlatWeights(model, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
      await rm(file, { force: true });
      await recalibrateBatchNorm(model, train, o.bnRecalibration, o.batchSize, seedFor(o.seed, epoch - 1, 2));
      const evaluation = val ? evaluateModel(model, val, Math.max(o.batchSize, 64)) : null;
      const record: EpochRecord & { train_seconds: number; images: number } = {
        epoch,
        loss: Number(e.loss),
        accuracy: Number(e.accuracy),
        val_loss: evaluation ? evaluation.loss : null,
        val_accuracy: evaluation ? evaluation.accuracy : null,
        lr: Number(e.lr),
        seconds: Number(e.seconds),
        train_seconds: Number(e.train_seconds),
        images: Number(e.images),
      };
      const score = monitored(record);
      const improved = isBetter(score, state.best);
      state.epoch = epoch;
      state.history.push(record);
      if (improved) {
        state.best = score;
        state.bestEpoch = epoch;
        state.epochsWithoutImprovement = 0;
      } else state.epochsWithoutImprovement++;
      await saveEpoch({ out: o.out, lock: lock!, model, optimizer: null, metadata }, state, improved);
      progress.endEpoch(record, `  ${(record.images / record.train_seconds).toFixed(1)} img/s${improved ? '  (best)' : ''}`);
    };
    const first = Math.min(...here);
    // Events are handled in arrival order, each after the previous one's epoch is finished.
    const handle = async (e: JaxEvent) => {
      if (failure) return;
      if (e.event === 'check') {
        const diff = Number(e.max_abs_diff);
        progress.log(`Keras rebuild of ${o.model}: outputs within ${diff.toExponential(1)} of TensorFlow.js's on ${e.images} images`);
        if (!(diff <= PROBE_TOLERANCE)) failure ??= new UserError(`the Keras rebuild of ${o.model} differs from the TensorFlow.js model by ${diff} (> ${PROBE_TOLERANCE}) on the probe images`);
      } else if (e.event === 'epoch_start' && e.process === first) progress.startEpoch(Number(e.epoch), Number(e.epochs), Number(e.steps));
      else if (e.event === 'step') progress.step(Number(e.step), Number(e.loss), Number(e.accuracy));
      else if (e.event === 'epoch') await finishEpoch(e);
    };
    const onEvent = (e: JaxEvent) => {
      chain = chain.then(() => handle(e)).catch((error) => void (failure ??= error));
    };
    for (const id of here) workers.push(startWorker(found.python, jobDir, id, threads, onEvent));
    // The first process to fail (or a failed check) stops the others: they would wait for it forever.
    const stopAll = () => workers.forEach((wk) => wk.child.exitCode === null && wk.child.kill('SIGTERM'));
    const codes = await Promise.all(
      workers.map(async (wk) => {
        const code = await wk.exit;
        if (code !== 0) stopAll();
        return code;
      }),
    );
    await chain;
    const failed = workers.find((wk, i) => codes[i] !== 0 && wk.lastError !== null) ?? workers.find((_, i) => codes[i] !== 0);
    if (failure) throw failure;
    if (failed) {
      const why = failed.lastError ?? (failed.lastLine || `exit status ${codes[workers.indexOf(failed)]}`);
      throw new UserError(`JAX process ${failed.id} failed: ${why} (log: ${failed.log})`);
    }
    if (!here.includes(0)) {
      progress.log(`process ${here.join(', ')} finished; process 0 writes the run folder`);
      return { out: o.out, engine, state, ended: 'completed' };
    }
    if (state.epoch !== o.epochs) throw new UserError(`JAX process 0 ended after ${state.epoch} of ${o.epochs} epochs (log: ${join(jobDir, 'process-0.log')})`);
    await publishBest(o.out);
    await rm(join(jobDir, 'train-images.npy'), { force: true }); // the data is the user's; the rest of the job stays as a record
    const best = state.history[state.bestEpoch - 1];
    const score = best?.val_accuracy != null ? `val_acc ${best.val_accuracy.toFixed(4)}` : `acc ${best?.accuracy.toFixed(4)}`;
    progress.log(`finished ${state.epoch} epochs on ${d.processes} JAX process${d.processes > 1 ? 'es' : ''}; best epoch ${state.bestEpoch} (${score}); model in ${o.out}`);
    return { out: o.out, engine, state, ended: 'completed' };
  } finally {
    for (const wk of workers) if (wk.child.exitCode === null && wk.child.signalCode === null) wk.child.kill('SIGKILL');
    await lock?.release();
    model.dispose();
  }
}

/** The run's data in memory (the Python processes receive it whole), split as the ordinary trainer splits it. */
async function loadSplits(o: TrainOptions): Promise<{ all: ImageDataset; train: ImageDataset; val: ImageDataset | null }> {
  const modelSize = modelInputSize(o.model);
  const all = await loadDataset(o.data, {
    imageSize: o.imageSize ? [o.imageSize, o.imageSize] : undefined,
    defaultSize: modelSize ? { size: [modelSize, modelSize], reason: `${o.model}'s input size` } : undefined,
    resize: o.resize,
    limit: o.limit,
  });
  if (all.shape[0] === 0) throw new UserError(`${o.data ?? 'mnist'}: no images`);
  if (o.valSplit === 0) return { all, train: all, val: null };
  const { train, val } = stratifiedSplit(all, o.valSplit, o.seed);
  if (train.shape[0] === 0) throw new UserError(`--val-split ${o.valSplit} leaves no training images`);
  return { all, train, val: val.shape[0] > 0 ? val : null };
}
