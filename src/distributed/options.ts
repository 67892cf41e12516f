// The options of `resnet train --distributed jax`: how many processes, where their coordinator
// listens, which of them this machine runs. Light (no TensorFlow.js): the CLI parses them at start-up.
import { UserError } from '../errors.js';
import type { TrainOptions } from '../train/options.js';

export const DISTRIBUTED_ENGINES = ['jax'] as const;
export type DistributedEngine = (typeof DISTRIBUTED_ENGINES)[number];
/** More processes than this is surely a typo (each one is a Python process with its own JAX runtime). */
export const MAX_PROCESSES = 1024;

export interface DistributedOptions {
  /** 'jax': Keras 3 on JAX, data-parallel (python/resnet_ts/jax_train.py). */
  engine: DistributedEngine;
  /** Processes in all, on every machine together. */
  processes: number;
  /** HOST:PORT where process 0 listens for the others; undefined: loopback on a free port, every process on this machine. */
  coordinator?: string;
  /** The one process this machine runs (needs `coordinator`); undefined: all `processes`, here. */
  processId?: number;
  /** Compute threads per process; default: this machine's cores / the processes it runs, at least 1. */
  threads?: number;
}

/** HOST:PORT → [host, port], or a UserError. */
export function parseCoordinator(value: string): [string, number] {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UserError(`--coordinator must be HOST:PORT (e.g. 10.0.0.1:7777), got '${value}'`);
  return [m[1], port];
}

/** Throws a UserError naming the first option that does not fit a distributed run. */
export function validateDistributed(d: DistributedOptions, o: TrainOptions): void {
  const bad = (msg: string): never => {
    throw new UserError(msg);
  };
  if (!(DISTRIBUTED_ENGINES as readonly string[]).includes(d.engine)) bad(`--distributed must be one of ${DISTRIBUTED_ENGINES.join(', ')}, got '${d.engine}'`);
  if (!Number.isInteger(d.processes) || d.processes < 1 || d.processes > MAX_PROCESSES)
    bad(`--processes must be an integer in [1, ${MAX_PROCESSES}], got '${d.processes}'`);
  if (d.coordinator !== undefined) parseCoordinator(d.coordinator);
  if (d.processId !== undefined) {
    if (d.coordinator === undefined) bad('--process-id needs --coordinator HOST:PORT (the address of process 0)');
    if (!Number.isInteger(d.processId) || d.processId < 0 || d.processId >= d.processes)
      bad(`--process-id must be an integer in [0, ${d.processes - 1}], got '${d.processId}'`);
  }
  if (d.threads !== undefined && (!Number.isInteger(d.threads) || d.threads < 1)) bad(`--threads must be a positive integer, got '${d.threads}'`);
  if (o.batchSize % d.processes !== 0)
    bad(`--batch-size ${o.batchSize} must be a multiple of --processes ${d.processes} (each process takes an equal part of every batch)`);
  if (o.init !== undefined || o.freeze !== undefined) bad('--distributed does not support --init or --freeze yet (train in one process, or from scratch)');
  if (o.precision !== 'float32') bad('--distributed trains in float32 only (--precision applies to the native engine)');
  // What the Python trainer (python/resnet_ts/recipe.py) does not implement yet.
  const unsupported = [
    o.optimizer === 'nesterov' && '--optimizer nesterov',
    o.schedule === 'linear' && '--schedule linear',
    (o.augment?.crop ?? 0) > 0 && '--augment crop',
    (o.biasLrScale ?? 1) !== 1 && '--bias-lr-scale',
    o.lookahead && '--lookahead',
    o.evalData !== undefined && '--eval-data',
    (o.tta ?? 'none') !== 'none' && '--tta',
  ].filter(Boolean);
  if (unsupported.length > 0) bad(`--distributed does not support ${unsupported.join(', ')} yet (train in one process)`);
}
