// Grad-CAM (Selvaraju et al., 2017): which parts of an image made the model choose a class. With A
// the last feature map (found automatically, src/models/cut.ts) and y the class's score before the
// softmax, each channel k gets the weight a_k = mean over positions of dy/dA_k, and the map is
// ReLU(sum_k a_k A_k), scaled to [0, 1]. Runs on any engine (browser-safe); the overlay helpers
// colour the map (turbo) and blend it over the image as plain RGBA bytes, for a canvas or a PNG.
import * as tf from '../tf.js';
import { headInput, lastFeatureLayer, modelAfter, modelUntil, softmaxHead } from '../models/cut.js';

export interface GradCamOptions {
  /** Class to explain (default: the most probable). */
  classIndex?: number;
  /** Layer whose output is the feature map (default: the last feature map). */
  layer?: string;
}

export interface GradCamResult {
  /** The map, [height, width] row-major, in [0, 1] (all 0 when nothing supports the class). */
  cam: Float32Array;
  height: number;
  width: number;
  /** The class explained, and the model's probabilities for all classes. */
  classIndex: number;
  probabilities: Float32Array;
  /** Name of the feature-map layer. */
  layer: string;
  /** Largest value of ReLU(sum_k a_k A_k) before scaling. */
  peak: number;
}

/** The two halves of a model around its feature map, built once per model and reused. They hold no
 *  tensors of their own: their layers and the head's kernel and bias are the model's variables. */
export interface GradCamParts {
  features: tf.LayersModel;
  /** Feature map -> the head's input (softmax head) or -> the output (any other model). */
  top: tf.LayersModel;
  /** [kernel, bias] of the softmax head, or null: then the score is the output itself. */
  head: [tf.Tensor2D, tf.Tensor1D | null] | null;
  layer: string;
}

/** Splits `model` at its feature map (or at `layer`). The parts share the model's weights. */
export function gradCamParts(model: tf.LayersModel, layer?: string): GradCamParts {
  const featureLayer = layer === undefined ? lastFeatureLayer(model) : model.getLayer(layer);
  const featureTensor = featureLayer.inboundNodes[0].outputTensors[0];
  const head = softmaxHead(model);
  const top = modelAfter(model, featureTensor, head ? headInput(model) : model.outputs[0], `${model.name}_gradcam_top`);
  const weights = head ? (head.getWeights() as tf.Tensor[]) : null;
  return {
    features: modelUntil(model, featureTensor, `${model.name}_gradcam_features`),
    top,
    head: weights ? [weights[0] as tf.Tensor2D, (weights[1] as tf.Tensor1D) ?? null] : null,
    layer: featureLayer.name,
  };
}

/**
 * Grad-CAM of one image ([h, w, c] or [1, h, w, c], pixels in [0, 1]) for the model's most probable
 * class, or `classIndex`. Pass `parts` to reuse the split of a model across images. No tensor
 * outlives the call.
 */
export function gradCam(model: tf.LayersModel, image: tf.Tensor3D | tf.Tensor4D, options: GradCamOptions = {}, parts?: GradCamParts): GradCamResult {
  const p = parts ?? gradCamParts(model, options.layer);
  const { cam, probabilities, shape } = tf.tidy(() => {
    const x = image.rank === 3 ? tf.expandDims(image, 0) : image;
    const features = p.features.predict(x) as tf.Tensor4D;
    const logits = (a: tf.Tensor4D): tf.Tensor2D => {
      const out = p.top.apply(a, { training: false }) as tf.Tensor2D;
      if (!p.head) return out;
      const [kernel, bias] = p.head;
      return (bias ? tf.add(tf.matMul(out, kernel), bias) : tf.matMul(out, kernel)) as tf.Tensor2D;
    };
    const scores = logits(features);
    const probs = p.head ? tf.softmax(scores) : scores;
    const probValues = probs.dataSync() as Float32Array;
    let c = options.classIndex ?? 0;
    if (options.classIndex === undefined) for (let k = 1; k < probValues.length; k++) if (probValues[k] > probValues[c]) c = k;
    if (!Number.isInteger(c) || c < 0 || c >= probValues.length) throw new RangeError(`class index ${c} is outside 0..${probValues.length - 1}`);
    const grads = tf.grad((a: tf.Tensor) => tf.sum(tf.slice(logits(a as tf.Tensor4D), [0, c], [1, 1])))(features);
    const alphas = tf.mean(grads, [1, 2], true); // [1, 1, 1, K]
    const map = tf.relu(tf.sum(tf.mul(features, alphas), 3)); // [1, h, w]
    return { cam: map, probabilities: probValues.slice(), shape: [features.shape[1], features.shape[2], c] };
  });
  const raw = cam.dataSync() as Float32Array;
  cam.dispose();
  let peak = 0;
  for (const v of raw) if (v > peak) peak = v;
  const scaled = Float32Array.from(raw, (v) => (peak > 0 ? v / peak : 0));
  return { cam: scaled, height: shape[0], width: shape[1], classIndex: shape[2], probabilities, layer: p.layer, peak };
}

/** Resizes a [h, w] map to [height, width] by bilinear interpolation (half-pixel centres, as tf.image.resizeBilinear). */
export function upsample(map: Float32Array, h: number, w: number, height: number, width: number): Float32Array {
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * h) / height - 0.5, 0), h - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * w) / width - 0.5, 0), w - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = sx - x0;
      const top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
      const bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Google's "turbo" colour map (polynomial fit by its authors) of v in [0, 1], as 8-bit RGB. */
export function turbo(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, v));
  const r = 0.13572138 + x * (4.6153926 + x * (-42.66032258 + x * (132.13108234 + x * (-152.94239396 + x * 59.28637943))));
  const g = 0.09140261 + x * (2.19418839 + x * (4.84296658 + x * (-14.18503333 + x * (4.27729857 + x * 2.82956604))));
  const b = 0.1066733 + x * (12.64194608 + x * (-60.58204836 + x * (110.36276771 + x * (-89.90310912 + x * 27.34824973))));
  const byte = (c: number) => Math.round(255 * Math.min(1, Math.max(0, c)));
  return [byte(r), byte(g), byte(b)];
}

/** How much of the colour map covers the image in an overlay (0: image only, 1: map only). */
export const OVERLAY_OPACITY = 0.45;

/**
 * The map over an image: `pixels` are 8-bit [height, width, channels] (1 grey, 3 RGB or 4 RGBA);
 * the map is upsampled to the image and blended in with `opacity`. Returns RGBA bytes.
 */
export function overlay(pixels: ArrayLike<number>, height: number, width: number, channels: number, result: Pick<GradCamResult, 'cam' | 'height' | 'width'>, opacity = OVERLAY_OPACITY): Uint8ClampedArray {
  const map = upsample(result.cam, result.height, result.width, height, width);
  const out = new Uint8ClampedArray(height * width * 4);
  for (let i = 0; i < height * width; i++) {
    const [r, g, b] = turbo(map[i]);
    const src = i * channels;
    const [pr, pg, pb] = channels >= 3 ? [pixels[src], pixels[src + 1], pixels[src + 2]] : [pixels[src], pixels[src], pixels[src]];
    out[4 * i] = pr * (1 - opacity) + r * opacity;
    out[4 * i + 1] = pg * (1 - opacity) + g * opacity;
    out[4 * i + 2] = pb * (1 - opacity) + b * opacity;
    out[4 * i + 3] = 255;
  }
  return out;
}
