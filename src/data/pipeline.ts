// The Node batch pipeline: worker threads assemble (read, / 255, augment, one-hot) the batches the
// training loop asks for, a bounded number ahead of it, while the training thread runs the step.
// Pixels in memory are shared with the workers (SharedArrayBuffer), not copied; pixels in the cache
// file are read per batch, so a data set larger than memory streams with memory flat: at most
// `depth` batches exist at a time. The loop sees a plain BatchSource (source.ts).
import { Worker } from 'node:worker_threads';
import type { Batch, BatchRequest } from './assemble.js';
import type { BatchSource } from './source.js';
import type { StoredDataset } from './store.js';
import { DataError } from './types.js';
import type { WorkerInit, WorkerJob } from './pipeline-worker.js';

export interface PipelineOptions {
  /** Worker threads assembling batches (default 1: on 2 cores one keeps well ahead of a training step). */
  workers?: number;
  /** Batches requested ahead of the consumer, per source (default 4): the bound on memory in flight. */
  depth?: number;
}

/**
 * The process's Node options minus those about the main script (`-e CODE`, `--input-type`, `-p`),
 * which would make a worker with a script file refuse to start (e.g. under `node -e`).
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    if (['-e', '--eval', '-p', '--print'].includes(arg)) i++; // and its code
    else if (!arg.startsWith('--input-type') && !/^--(eval|print)=/.test(arg)) out.push(arg);
  }
  return out;
}

interface Pending {
  resolve(batch: Batch): void;
  reject(error: Error): void;
}

/** A pool of batch workers over one stored data set; `source(positions)` views a part of it. */
export class BatchWorkers {
  private readonly workers: { worker: Worker; inFlight: number }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | null = null;
  private readonly depth: number;

  constructor(
    private readonly data: StoredDataset,
    options: PipelineOptions = {},
  ) {
    const count = options.workers ?? 1;
    this.depth = options.depth ?? 4;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers must be a positive integer, got ${count}`);
    let store = data.store;
    // Memory that is not shared would be copied into every worker: share it once.
    if (store.kind === 'memory' && !(store.levels.buffer instanceof SharedArrayBuffer)) {
      const shared = new Uint8Array(new SharedArrayBuffer(store.levels.length));
      shared.set(store.levels);
      store = { kind: 'memory', levels: shared };
    }
    const [, h, w, c] = data.shape;
    const init: WorkerInit = { store, imageShape: [h, w, c], classes: data.classNames.length };
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./pipeline-worker.js', import.meta.url), { workerData: init, execArgv: workerExecArgv() });
      const slot = { worker, inFlight: 0 };
      worker.on('message', (m: { id: number; batch?: Batch; error?: string; userError?: boolean }) => {
        slot.inFlight--;
        if (slot.inFlight === 0) worker.unref();
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.batch) p?.resolve(m.batch);
        else p?.reject(m.userError ? new DataError(`reading batches: ${m.error}`) : new Error(`batch worker: ${m.error}`));
      });
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (this.pending.size > 0) this.fail(new Error(`batch worker exited (code ${code}) with batches pending`));
      });
      worker.unref(); // an idle pool never keeps the process alive
      this.workers.push(slot);
    }
  }

  private fail(error: Error): void {
    this.failed ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  /** Sends one batch to the least busy worker. */
  private submit(job: Omit<WorkerJob, 'id'>): Promise<Batch> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const slot = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    if (slot.inFlight++ === 0) slot.worker.ref();
    return new Promise<Batch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...job, id });
    });
  }

  /** The images at store `positions` (default: all), as a batch source for the training loop. */
  source(positions?: Int32Array): BatchSource {
    const all = this.data.labels;
    const size = positions ? positions.length : all.length;
    const labels = positions ? Int32Array.from(positions, (p) => all[p]) : all;
    const [, h, w, c] = this.data.shape;
    const toJob = (request: BatchRequest): Omit<WorkerJob, 'id'> => {
      const stored = new Int32Array(request.indices.length);
      const batchLabels = new Int32Array(request.indices.length);
      for (let i = 0; i < stored.length; i++) {
        const index = request.indices[i];
        if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`batch index ${index} is outside 0..${size - 1}`);
        stored[i] = positions ? positions[index] : index;
        batchLabels[i] = labels[index];
      }
      return { stored, labels: batchLabels, labelSmoothing: request.labelSmoothing, augment: request.augment };
    };
    const depth = this.depth;
    const submit = (job: Omit<WorkerJob, 'id'>) => this.submit(job);
    return {
      size,
      imageShape: [h, w, c],
      classNames: this.data.classNames,
      labels,
      async *batches(requests: Iterable<BatchRequest>) {
        const it = requests[Symbol.iterator]();
        const ahead: Promise<Batch>[] = [];
        const refill = () => {
          while (ahead.length < depth) {
            const next = it.next();
            if (next.done) return;
            ahead.push(submit(toJob(next.value)));
          }
        };
        try {
          refill();
          while (ahead.length > 0) {
            const batch = await ahead.shift()!;
            refill(); // the workers prepare the next batches while the consumer uses this one
            yield batch;
          }
        } finally {
          for (const p of ahead) p.catch(() => {}); // abandoned: finished by the workers, then dropped
        }
      },
    };
  }

  /** Stops the workers (pending batches are dropped). */
  async close(): Promise<void> {
    // A terminating worker does not keep the event loop alive until its exit is reported: with nothing
    // else pending (a run that stopped on an error), terminate()'s promise would never settle and
    // Node would exit with status 13. A timer holds the loop open until every worker has exited.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
    } finally {
      clearInterval(keepAlive);
    }
    this.workers.length = 0;
  }
}
