// The Classify panel: each photo (file, drop or webcam frame) is classified with the loaded model,
// shown with its top classes and probabilities, the time it took and a Grad-CAM heatmap of the top
// class over it.
import { tf } from '../src/index.js';
import { gradCam, overlay } from '../src/explain/gradcam.js';
import { el } from './dom.js';
import type { LoadedModel } from './models.js';
import type { Picture } from './pictures.js';

/** Classes listed per photo. */
export const TOP_K = 5;

export interface Ranked {
  index: number;
  class: string;
  probability: number;
}

/** The k most probable classes, best first (ties: lower index first), as `resnet predict` ranks them. */
export function topK(probs: ArrayLike<number>, classNames: string[], k: number): Ranked[] {
  const order = Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  return order.slice(0, k).map((i) => ({ index: i, class: classNames[i] ?? String(i), probability: probs[i] }));
}

export interface Classified {
  ranked: Ranked[];
  probabilities: Float32Array;
  ms: number;
}

/** Class probabilities of one picture, timed (model.predict and reading the result back). */
export async function classify(loaded: LoadedModel, picture: Picture): Promise<Classified> {
  const [h, w, c] = loaded.metadata.inputShape;
  const start = performance.now();
  const probs = tf.tidy(() => loaded.model.predict(tf.tensor4d(picture.pixels, [1, h, w, c])) as tf.Tensor);
  const probabilities = (await probs.data()) as Float32Array;
  const ms = performance.now() - start;
  probs.dispose();
  return { ranked: topK(probabilities, loaded.metadata.classNames, Math.min(TOP_K, probabilities.length)), probabilities, ms };
}

/** One result in the list: photo, heatmap, top-1, probabilities, time and engine. */
export function resultCard(name: string, picture: Picture, result: Classified, heatmap: HTMLCanvasElement | null, engine: string): HTMLLIElement {
  const top = result.ranked[0];
  const probabilities = el(
    'ol',
    { className: 'probs', 'data-testid': 'probabilities', 'aria-label': `probabilities for ${name}` },
    result.ranked.map((r) =>
      el('li', { 'data-class': r.class, 'data-probability': r.probability.toPrecision(9) }, [
        el('span', { text: r.class }),
        el('span', { className: 'barbox', 'aria-hidden': 'true' }, [el('span', { className: 'barfill', style: `display:block;width:${(100 * r.probability).toFixed(1)}%` })]),
        el('span', { text: `${(100 * r.probability).toFixed(1)}%` }),
      ]),
    ),
  );
  picture.display.setAttribute('aria-label', `photo ${name}`);
  picture.display.setAttribute('role', 'img');
  return el('li', { className: 'result', 'data-image': name }, [
    picture.display,
    heatmap ?? el('span', { className: 'note', text: 'no heatmap for this model' }),
    el('div', {}, [
      el('div', { className: 'name', text: name }),
      el('div', { className: 'top1' }, [el('span', { 'data-testid': 'prediction', text: top.class })]),
      probabilities,
      el('div', { className: 'note', 'data-testid': 'timing', 'data-ms': result.ms.toFixed(3), text: `${result.ms.toFixed(1)} ms on ${engine}` }),
    ]),
  ]);
}

/** The Grad-CAM heatmap of the top class over the displayed photo (a canvas), or null without one. */
export function heatmapCanvas(loaded: LoadedModel, picture: Picture, classIndex: number): HTMLCanvasElement | null {
  if (!loaded.parts) return null;
  const [h, w, c] = loaded.metadata.inputShape;
  const image = tf.tensor3d(picture.pixels, [h, w, c]);
  try {
    const cam = gradCam(loaded.model, image, { classIndex }, loaded.parts);
    const { width, height } = picture.display;
    const canvas = el('canvas', { 'data-testid': 'heatmap', role: 'img', 'aria-label': `heatmap: where the model saw ${loaded.metadata.classNames[classIndex]}`, 'data-layer': cam.layer });
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d')!.putImageData(new ImageData(overlay(picture.rgba, height, width, 4, cam) as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
    return canvas;
  } finally {
    image.dispose();
  }
}
