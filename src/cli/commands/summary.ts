// `resnet summary`: the layer table of a model, like Keras's model.summary(), or JSON.
import type { Command } from 'commander';
import { buildModel } from '../../models/registry.js';
import { formatSummary, summarize } from '../../inspect/summary.js';
import { action, positiveInt } from '../run.js';
import { MAX_CLASSES } from '../../limits.js';
import { parseInputShape } from '../options.js';
import { useBackend } from '../../engine/backends.js';

export function register(program: Command): void {
  program
    .command('summary')
    .description('print the layer table of a model (name, class, output shape, parameters, totals)')
    .option('--model <name>', 'model name (see `resnet models`)', 'resnet50')
    .option('--input <H,W,C>', 'input shape', '64,64,3')
    .option('--classes <n>', 'number of classes', '6')
    .option('--json', 'print one JSON document instead of the table')
    .action(
      action(async (opts: { model: string; input: string; classes: string; json?: boolean }) => {
        const inputShape = parseInputShape(opts.input);
        const classes = positiveInt('classes', opts.classes, MAX_CLASSES);
        await useBackend('cpu'); // building only: the reference engine starts fastest
        const model = buildModel(opts.model, { inputShape, classes });
        const summary = summarize(model);
        process.stdout.write((opts.json ? JSON.stringify(summary) : formatSummary(summary)) + '\n');
        model.dispose();
      }),
    );
}
