// Node-only: the job folder a distributed run's Python processes read (python/resnet_ts/jax_train.py
// describes it): job.json, the initial weights, the training split as .npy arrays, a probe batch.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '../tf.js';
import type { ImageDataset } from '../data/types.js';
import type { TrainOptions } from '../train/options.js';

/** Images of the probe batch: the Python side checks its rebuilt model on them. */
export const PROBE_IMAGES = 4;

export interface WeightSpec {
  name: string;
  shape: number[];
}

/** The recipe as jax_train.py reads it (snake_case, python/resnet_ts/recipe.py). */
function recipe(o: TrainOptions) {
  return {
    epochs: o.epochs,
    batch_size: o.batchSize,
    lr: o.lr,
    optimizer: o.optimizer,
    momentum: o.momentum,
    weight_decay: o.weightDecay,
    schedule: o.schedule,
    warmup_epochs: o.warmupEpochs,
    label_smoothing: o.labelSmoothing,
    clip_norm: o.clipNorm,
    augment: o.augment,
    seed: o.seed,
  };
}

/** A .npy file (format 1.0): the magic, a header dict padded to 64 bytes, the raw little-endian data. */
export function npy(data: Uint8Array | Int32Array | Float32Array, shape: number[]): Uint8Array {
  const descr = data instanceof Uint8Array ? '|u1' : data instanceof Int32Array ? '<i4' : '<f4';
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** The model's weights in its own order (that of model.json's manifest), as one float32 array. */
export function flatWeights(model: tf.LayersModel): { specs: WeightSpec[]; values: Float32Array } {
  const specs = model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] }));
  const parts = model.weights.map((w) => w.read().dataSync() as Float32Array);
  const values = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    values.set(p, offset);
    offset += p.length;
  }
  return { specs, values };
}

/** Sets the model's weights from one float32 array in flatWeights's order. */
export function setFlatWeights(model: tf.LayersModel, values: Float32Array): void {
  let offset = 0;
  const tensors = model.weights.map((w) => {
    const size = (w.shape as number[]).reduce((a, b) => a * b, 1);
    const t = tf.tensor(values.subarray(offset, offset + size), w.shape as number[]);
    offset += size;
    return t;
  });
  if (offset !== values.length) {
    tf.dispose(tensors);
    throw new Error(`weights file holds ${values.length} values, the model has ${offset}`);
  }
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/** Writes the job folder `dir` for `processes` processes meeting at `coordinator`. */
export async function writeJob(dir: string, o: TrainOptions, model: tf.LayersModel, train: ImageDataset, processes: number, coordinator: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const [n, h, w, c] = train.shape;
  const { specs, values } = flatWeights(model);
  await writeFile(join(dir, 'init.bin'), new Uint8Array(values.buffer));
  await writeFile(join(dir, 'train-images.npy'), npy(train.images, [n, h, w, c]));
  await writeFile(join(dir, 'train-labels.npy'), npy(train.labels, [n]));
  const k = Math.min(PROBE_IMAGES, n);
  const probe = Float32Array.from(train.images.subarray(0, k * h * w * c), (level) => level / 255);
  const outputs = tf.tidy(() => (model.predict(tf.tensor4d(probe, [k, h, w, c])) as tf.Tensor).dataSync() as Float32Array);
  await writeFile(join(dir, 'probe-images.bin'), new Uint8Array(probe.buffer));
  await writeFile(join(dir, 'probe-outputs.bin'), new Uint8Array(Float32Array.from(outputs).buffer));
  const job = {
    version: 1,
    processes,
    coordinator,
    topology: model.toJSON(null, false),
    weights: specs,
    init: 'init.bin',
    train: { images: 'train-images.npy', labels: 'train-labels.npy', classes: train.classNames.length, pixels: 'uint8 (x / 255)' },
    probe: { images: 'probe-images.bin', shape: [k, h, w, c], outputs: 'probe-outputs.bin' },
    recipe: recipe(o),
  };
  await writeFile(join(dir, 'job.json'), JSON.stringify(job));
}
