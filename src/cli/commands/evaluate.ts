// `resnet evaluate`: loss, accuracy, per-class precision/recall and the confusion matrix of a trained
// model on a data set; confusion.svg is written next to the model (or into --out). A model folder
// that cannot be written to (read-only) gets no confusion.svg, with a notice; --out names another.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { action, pathOption, positiveInt } from '../run.js';
import { describeSystemError, fileError, isSystemError, makeFolder } from '../../io/fs-errors.js';
import { faultWrite } from '../../io/faults.js';

interface EvaluateFlags {
  model: string;
  data?: string;
  json?: boolean;
  out?: string;
  batchSize: string;
  backend: string;
  precision: string;
  limit?: string;
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('evaluate a trained model on a data set: loss, accuracy, precision/recall, confusion matrix (+ confusion.svg)')
    .requiredOption('--model <dir>', "model folder written by 'resnet train' (a run folder or its best/ or last/)")
    .option('--data <path>', 'image folder or .h5 file; default: the embedded MNIST digits')
    .option('--json', 'print one JSON line instead of tables')
    .option('--out <dir>', 'folder for confusion.svg (default: the model folder)')
    .option('--batch-size <n>', 'images per inference batch', '64')
    .option('--backend <engine>', 'auto, native, wasm or cpu', 'auto')
    .option('--precision <type>', 'float32, bfloat16 (native engine, AVX512_BF16) or int8 (native, VNNI; a folder from `resnet quantize`)', 'float32')
    .option('--limit <n>', 'use only n images of the data (balanced over classes)')
    .action(
      action(async (flags: EvaluateFlags) => {
        const batchSize = positiveInt('batch-size', flags.batchSize);
        pathOption('model', flags.model);
        if (flags.data !== undefined) pathOption('data', flags.data);
        if (flags.out !== undefined) pathOption('out', flags.out);
        const limit = flags.limit === undefined ? undefined : positiveInt('limit', flags.limit);
        // Heavy modules load here so that other commands start fast.
        const [{ loadDataset }, { confusionSvg }, { loadModelFolder }, { alignClasses, evaluateModel }, { formatConfusion }, { startInference, inferenceOptions }] = await Promise.all([
          import('../../data/node.js'),
          import('../../plot/confusion.js'),
          import('../../train/checkpoint.js'),
          import('../../train/evaluate.js'),
          import('../../train/metrics.js'),
          import('../../infer/node.js'),
        ]);
        const { engine, precision } = await startInference(flags.backend, flags.precision);
        const { model, metadata, path } = await loadModelFolder(flags.model);
        const inference = await inferenceOptions(precision, path);
        const [h, w, c] = metadata.inputShape;
        const data = alignClasses(await loadDataset(flags.data, { imageSize: [h, w], channels: c, limit, resize: metadata.resize?.mode }), metadata.classNames);
        const result = evaluateModel(model, data, batchSize, inference);
        model.dispose();
        const outDir = flags.out ?? path;
        let svgPath: string | null = join(outDir, 'confusion.svg');
        if (flags.out !== undefined) await makeFolder(outDir, 'cannot create the output folder');
        try {
          faultWrite(svgPath);
          await writeFile(svgPath, await confusionSvg(result.confusion, metadata.classNames));
        } catch (error) {
          // --out was asked for: failing to write there is an error. The model's own folder may be
          // read-only (a shared or packaged model): the figures are printed anyway, so skip the file.
          if (flags.out !== undefined || !isSystemError(error)) throw fileError(error, 'cannot write', svgPath);
          process.stderr.write(`resnet: note: confusion.svg not written (${path}: ${describeSystemError(error)}); use --out DIR to save it elsewhere\n`);
          svgPath = null;
        }
        const classes = metadata.classNames;
        if (flags.json) {
          const { accuracy, loss, confusion, precision, recall } = result;
          // NaN / Infinity (a diverged model) as the strings "NaN" / "Infinity", not null (train/json.ts).
          const { toJson } = await import('../../train/json.js');
          console.log(toJson({ accuracy, loss, images: data.shape[0], classes, confusion, precision, recall, model: path, data: data.source, engine, engine_precision: flags.precision, confusion_svg: svgPath }));
          return;
        }
        console.log(`model ${path} on ${data.source}: ${data.shape[0]} images, engine ${engine}`);
        console.log(`loss ${result.loss.toFixed(4)}  accuracy ${result.accuracy.toFixed(4)}`);
        console.log('');
        console.log(formatConfusion(result.confusion, classes, result));
        if (svgPath !== null) {
          console.log('');
          console.log(`confusion matrix drawn in ${svgPath}`);
        }
      }),
    );
}
