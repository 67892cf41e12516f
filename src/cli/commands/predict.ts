// `resnet predict`: the K most probable classes of each image, with their probabilities.
import type { Command } from 'commander';
import { action, pathOption, positiveInt } from '../run.js';

interface PredictFlags {
  model: string;
  top: string;
  json?: boolean;
  backend: string;
  precision: string;
}

export interface Ranked {
  class: string;
  probability: number;
}

/** The `k` largest entries of `probs` (ties: lower index first), best first. */
export function topK(probs: ArrayLike<number>, classNames: string[], k: number): Ranked[] {
  const order = Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  return order.slice(0, k).map((i) => ({ class: classNames[i], probability: probs[i] }));
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('classify images with a trained model: the top-K classes and their probabilities')
    .argument('<images...>', 'JPEG or PNG files')
    .requiredOption('--model <dir>', "model folder written by 'resnet train'")
    .option('--top <k>', 'classes to show per image', '3')
    .option('--json', 'print one JSON line')
    .option('--backend <engine>', 'auto, native, wasm or cpu', 'auto')
    .option('--precision <type>', 'float32, bfloat16 (native engine, AVX512_BF16) or int8 (native, VNNI; a folder from `resnet quantize`)', 'float32')
    .action(
      action(async (images: string[], flags: PredictFlags) => {
        const top = positiveInt('top', flags.top);
        pathOption('model', flags.model);
        images.forEach((image) => pathOption('image', image));
        // Heavy modules load here so that other commands start fast.
        const [{ loadImages }, { loadModelFolder }, { predictProbabilities }, { startInference, inferenceOptions }] = await Promise.all([
          import('../../data/node.js'),
          import('../../train/checkpoint.js'),
          import('../../train/evaluate.js'),
          import('../../infer/node.js'),
        ]);
        const { precision } = await startInference(flags.backend, flags.precision);
        const { model, metadata, path } = await loadModelFolder(flags.model);
        const inference = await inferenceOptions(precision, path);
        const [h, w, c] = metadata.inputShape;
        const pixels = await loadImages(images, [h, w], c, metadata.resize?.mode);
        const probs = predictProbabilities(model, pixels, [images.length, h, w, c], 32, inference);
        model.dispose();
        const k = Math.min(top, metadata.classNames.length);
        const classes = metadata.classNames.length;
        const predictions = images.map((image, i) => ({ image, top: topK(probs.subarray(i * classes, (i + 1) * classes), metadata.classNames, k) }));
        if (flags.json) {
          console.log(JSON.stringify({ model: path, predictions }));
          return;
        }
        for (const p of predictions) {
          console.log(`${p.image}: ${p.top.map((r) => `${r.class} ${(100 * r.probability).toFixed(1)}%`).join(', ')}`);
        }
      }),
    );
}
