// `resnet explain`: Grad-CAM heatmaps of the top class (or --class) over each image, as PNG overlays.
import type { Command } from 'commander';
import { action } from '../run.js';
import { UserError } from '../../errors.js';

interface ExplainFlags {
  model: string;
  out: string;
  class?: string;
  json?: boolean;
  backend: string;
}

export function register(program: Command): void {
  program
    .command('explain')
    .description('why the model chose a class: Grad-CAM heatmaps over the images, written as PNG overlays')
    .argument('<images...>', 'JPEG or PNG files')
    .requiredOption('--model <dir>', "model folder written by 'resnet train'")
    .requiredOption('--out <dir>', 'folder for the <image>.gradcam.png overlays')
    .option('--class <name>', 'explain this class instead of the most probable one')
    .option('--json', 'print one JSON line')
    .option('--backend <engine>', 'auto, native, wasm or cpu', 'auto')
    .action(
      action(async (images: string[], flags: ExplainFlags) => {
        // Heavy modules load here so that other commands start fast.
        const [{ loadModelFolder }, { explainFiles }, { startEngine }] = await Promise.all([
          import('../../train/checkpoint.js'),
          import('../../explain/files.js'),
          import('../../engine/backends.js'),
        ]);
        await startEngine(flags.backend);
        const { model, metadata, path } = await loadModelFolder(flags.model);
        let classIndex: number | undefined;
        if (flags.class !== undefined) {
          classIndex = metadata.classNames.indexOf(flags.class);
          if (classIndex < 0) throw new UserError(`--class '${flags.class}' is not one of the model's classes (${metadata.classNames.join(', ')})`);
        }
        const results = await explainFiles(model, metadata, images, flags.out, classIndex);
        model.dispose();
        if (flags.json) {
          console.log(JSON.stringify({ model: path, explanations: results }));
          return;
        }
        for (const r of results) console.log(`${r.image}: ${r.class} ${(100 * r.probability).toFixed(1)}% -> ${r.overlay}`);
      }),
    );
}
