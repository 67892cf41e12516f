// Whitening initialisation of a first convolution (airbench, Keller Jordan 2024; David Page's
// ResNet-9 series before it): the k x k patches of the training images are centred and their
// covariance diagonalised; filter i is eigenvector i divided by sqrt(eigenvalue i + eps), and the
// layer holds each filter and its negative (2 * k * k * channels filters), so that after a ReLU
// nothing is lost. The layer's output is then decorrelated, unit-variance input for the rest of the
// network from the first step. Computed, as airbench does, on per-channel standardised pixels;
// the standardisation is folded into the kernel and bias, so the model still takes [0, 1] pixels.
import * as tf from '../tf.js';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { plainRequests, type BatchSource } from '../data/source.js';
import { WHITEN_LAYER } from './fast.js';

/** Images whose patches estimate the covariance (airbench: 5,000), spread evenly over the training set. */
export const WHITEN_IMAGES = 5000;
/** Added to each eigenvalue (in standardised pixel units squared) before the square root. */
export const WHITEN_EPSILON = 5e-4;

export interface WhiteningWeights {
  /** HWIO kernel [k, k, channels, 2 * k * k * channels], for [0, 1] pixels. */
  kernel: Float32Array;
  bias: Float32Array;
  shape: [number, number, number, number];
  /** Eigenvalues of the standardised patch covariance, largest first. */
  eigenvalues: number[];
}

/** Indices of `n` images spread evenly over `count` (data sets are often sorted by class). */
export function evenSample(count: number, n: number): number[] {
  return Array.from({ length: Math.min(count, n) }, (_, i) => Math.floor((i * count) / Math.min(count, n)));
}

/** NHWC images: float32 pixels in [0, 1], or 8-bit levels (pixels * 255, as ImageDataset holds them). */
export interface WhiteningImages {
  images: Float32Array | Uint8Array;
  shape: readonly [number, number, number, number];
}

/** The whitening filters of k x k patches of `images` images spread evenly over `ds`. */
export function whiteningWeights(ds: WhiteningImages, k: number, images = WHITEN_IMAGES, eps = WHITEN_EPSILON): WhiteningWeights {
  const [count, height, width, channels] = ds.shape;
  const sample = evenSample(count, images);
  const n = sample.length;
  if (n === 0 || height < k || width < k) throw new RangeError(`whitening needs images of at least ${k}x${k}`);
  const imageLength = height * width * channels;
  const pixels = new Float32Array(n * imageLength);
  const scale = ds.images instanceof Uint8Array ? 1 / 255 : 1;
  sample.forEach((index, i) => {
    const from = index * imageLength;
    for (let j = 0; j < imageLength; j++) pixels[i * imageLength + j] = ds.images[from + j] * scale;
  });
  // Per-channel standardisation (mean, standard deviation over the sampled pixels).
  const mean = new Float64Array(channels);
  const square = new Float64Array(channels);
  for (let i = 0; i < pixels.length; i++) {
    mean[i % channels] += pixels[i];
    square[i % channels] += pixels[i] * pixels[i];
  }
  const perChannel = pixels.length / channels;
  const std = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    mean[c] /= perChannel;
    std[c] = Math.sqrt(Math.max(square[c] / perChannel - mean[c] * mean[c], 1e-12));
  }
  // Patch vectors in HWC order (the kernel's first three axes), standardised; their sum and outer products.
  const d = k * k * channels;
  const sum = new Float64Array(d);
  const outer = new Float64Array(d * d);
  const patch = new Float64Array(d);
  let patches = 0;
  for (let i = 0; i < n; i++) {
    const base = i * height * width * channels;
    for (let y = 0; y + k <= height; y++) {
      for (let x = 0; x + k <= width; x++) {
        let j = 0;
        for (let dy = 0; dy < k; dy++) {
          for (let dx = 0; dx < k; dx++) {
            const at = base + ((y + dy) * width + x + dx) * channels;
            for (let c = 0; c < channels; c++) patch[j++] = (pixels[at + c] - mean[c]) / std[c];
          }
        }
        for (let a = 0; a < d; a++) {
          sum[a] += patch[a];
          for (let b = a; b < d; b++) outer[a * d + b] += patch[a] * patch[b];
        }
        patches++;
      }
    }
  }
  const covariance = Matrix.zeros(d, d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const value = outer[a * d + b] / patches - (sum[a] / patches) * (sum[b] / patches);
      covariance.set(a, b, value);
      covariance.set(b, a, value);
    }
  }
  const eig = new EigenvalueDecomposition(covariance, { assumeSymmetric: true });
  const order = eig.realEigenvalues.map((value, index) => ({ value, index })).sort((p, q) => q.value - p.value);
  const vectors = eig.eigenvectorMatrix;
  const filters = 2 * d;
  const kernel = new Float32Array(d * filters);
  const bias = new Float32Array(filters);
  order.forEach(({ value, index }, f) => {
    const scale = 1 / Math.sqrt(Math.max(value, 0) + eps);
    let offset = 0;
    for (let j = 0; j < d; j++) {
      // Standardisation folded in: w . (p - mean) / std = (w / std) . p - (w / std) . mean.
      const w = (vectors.get(j, index) * scale) / std[j % channels];
      kernel[j * filters + f] = w;
      kernel[j * filters + f + d] = -w;
      offset += w * (sum[j] / patches * std[j % channels] + mean[j % channels]);
    }
    bias[f] = -offset;
    bias[f + d] = offset;
  });
  return { kernel, bias, shape: [k, k, channels, filters], eigenvalues: order.map((o) => o.value) };
}

/** Images read at once from a batch source by initWhitening. */
const READ_BATCH = 256;

/**
 * Sets the model's whitening convolution (the layer named WHITEN_LAYER, src/models/fast.ts) from
 * `images` training images spread evenly over `data` (read through its batches: in memory or from the
 * Node worker pipeline); returns false, reading nothing and changing nothing, when the model has none.
 */
export async function initWhitening(model: tf.LayersModel, data: BatchSource, images = WHITEN_IMAGES): Promise<boolean> {
  const layer = model.layers.find((l) => l.name === WHITEN_LAYER);
  if (!layer) return false;
  const [kernelShape] = layer.getWeights().map((w) => w.shape);
  const sample = evenSample(data.size, images);
  const [h, w, c] = data.imageShape;
  const pixels = new Float32Array(sample.length * h * w * c);
  let done = 0;
  for await (const batch of data.batches(plainRequests(sample, READ_BATCH))) {
    pixels.set(batch.pixels, done * h * w * c);
    done += batch.size;
  }
  const { kernel, bias, shape } = whiteningWeights({ images: pixels, shape: [sample.length, h, w, c] }, kernelShape[0], sample.length);
  if (shape.join('x') !== kernelShape.join('x')) throw new RangeError(`whitening: the layer's kernel is ${kernelShape.join('x')}, the data gives ${shape.join('x')}`);
  const weights = [tf.tensor4d(kernel, shape), tf.tensor1d(bias)];
  layer.setWeights(weights);
  tf.dispose(weights);
  return true;
}
