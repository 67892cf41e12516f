// One batch worker thread (started by pipeline.ts): reads the requested images (from memory shared
// with the main thread, or from the decoded-data cache file), converts them to pixels / 255, augments
// them and builds the targets (assemble.ts), and posts the batch back without copying it.
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { assembleBatch, type BatchRequest } from './assemble.js';
import type { PixelStore } from './store.js';

export interface WorkerInit {
  store: PixelStore;
  imageShape: [number, number, number];
  classes: number;
}

export interface WorkerJob extends Omit<BatchRequest, 'indices'> {
  id: number;
  /** Store positions of the batch's images. */
  stored: Int32Array;
  labels: Int32Array;
}

const { store, imageShape, classes } = workerData as WorkerInit;
const imageLength = imageShape[0] * imageShape[1] * imageShape[2];
const fd = store.kind === 'file' ? openSync(store.path, 'r') : -1;

/** The 8-bit images at `stored`, one after the other. */
function readImages(stored: Int32Array): Uint8Array {
  const out = new Uint8Array(stored.length * imageLength);
  for (let i = 0; i < stored.length; i++) {
    const at = stored[i] * imageLength;
    if (store.kind === 'memory') {
      out.set(store.levels.subarray(at, at + imageLength), i * imageLength);
      continue;
    }
    for (let done = 0; done < imageLength; ) {
      const read = readSync(fd, out, i * imageLength + done, imageLength - done, store.offset + at + done);
      if (read === 0) throw Object.assign(new Error(`${store.path}: ends before image ${stored[i]}`), { userError: true });
      done += read;
    }
  }
  return out;
}

parentPort!.on('message', (job: WorkerJob | 'close') => {
  if (job === 'close') {
    if (fd >= 0) closeSync(fd);
    parentPort!.close();
    return;
  }
  try {
    const batch = assembleBatch(readImages(job.stored), job.labels, imageShape, classes, job);
    parentPort!.postMessage({ id: job.id, batch }, [batch.pixels.buffer as ArrayBuffer, batch.targets.buffer as ArrayBuffer]);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { userError?: boolean };
    parentPort!.postMessage({ id: job.id, error: e.message, userError: Boolean(e.userError) || e.code !== undefined });
  }
});
