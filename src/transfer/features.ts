// Each photo's backbone features, computed once and kept as plain float32 arrays outside the engine
// (no tensor survives a call), so hundreds of photos cost only their features' memory:
// 8 KB per photo for the course ResNet-50's pooled features (2048 floats).
import * as tf from '../tf.js';

/** Photos run through the backbone together (bounds the engine's working memory). */
/** Backbone features of labelled photos: row i (features[i * rowLength ..]) has class labels[i]. */
export interface FeatureSet {
  features: Float32Array;
  labels: Int32Array;
  /** [photos, ...featureShape]. */
  shape: [number, number, number, number];
  classNames: string[];
}

export const FEATURE_BATCH = 16;

/**
 * The backbone's features of `count` images (NHWC pixels in [0, 1], one after another), as one
 * array of count * featureLength floats.
 */
export function extractFeatures(backbone: tf.LayersModel, pixels: Float32Array, count: number): Float32Array {
  const [h, w, c] = backbone.inputs[0].shape.slice(1) as number[];
  const imageLength = h * w * c;
  if (pixels.length !== count * imageLength) throw new RangeError(`extractFeatures: ${pixels.length} pixels are not ${count} images of ${h}x${w}x${c}`);
  const featureLength = (backbone.outputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const out = new Float32Array(count * featureLength);
  for (let start = 0; start < count; start += FEATURE_BATCH) {
    const end = Math.min(count, start + FEATURE_BATCH);
    const features = tf.tidy(() => backbone.predict(tf.tensor4d(pixels.subarray(start * imageLength, end * imageLength), [end - start, h, w, c])) as tf.Tensor);
    out.set(features.dataSync() as Float32Array, start * featureLength);
    features.dispose();
  }
  return out;
}

/** Labelled features of the photos so far, by class. */
export class FeatureStore {
  private readonly rows: { label: number; features: Float32Array }[] = [];

  constructor(readonly featureShape: [number, number, number]) {}

  get featureLength(): number {
    return this.featureShape[0] * this.featureShape[1] * this.featureShape[2];
  }

  get size(): number {
    return this.rows.length;
  }

  /** Adds `features` (one or more photos' worth) under class `label`. */
  add(label: number, features: Float32Array): void {
    if (features.length % this.featureLength !== 0) throw new RangeError(`FeatureStore.add: ${features.length} floats are not whole photos of ${this.featureLength}`);
    for (let i = 0; i < features.length; i += this.featureLength) this.rows.push({ label, features: features.slice(i, i + this.featureLength) });
  }

  /** Removes every photo of class `label`; classes above it move down by one. */
  removeClass(label: number): void {
    for (let i = this.rows.length - 1; i >= 0; i--) if (this.rows[i].label === label) this.rows.splice(i, 1);
    for (const row of this.rows) if (row.label > label) row.label--;
  }

  count(label: number): number {
    return this.rows.filter((r) => r.label === label).length;
  }

  /** The store as a feature set (one row of floats per photo) for fitClassifier. */
  dataset(classNames: string[]): FeatureSet {
    const images = new Float32Array(this.rows.length * this.featureLength);
    this.rows.forEach((r, i) => images.set(r.features, i * this.featureLength));
    return {
      features: images,
      labels: Int32Array.from(this.rows, (r) => r.label),
      shape: [this.rows.length, ...this.featureShape],
      classNames,
    };
  }
}
