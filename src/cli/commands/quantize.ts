// `resnet quantize`: int8 post-training quantization of a trained model. Runs the model in float32
// on calibration images and records the range of every activation; writes a copy of the model
// folder with those ranges in quantization.json, for `predict` / `evaluate --precision int8`
// (docs/inference.md). Weights stay float32 in the folder: their int8 form (per output channel,
// max |w| / 127) is computed from them when the model is compiled.
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { action, positiveInt } from '../run.js';
import { UserError } from '../../errors.js';

interface QuantizeFlags {
  calibration: string;
  images: string;
  out?: string;
  batchSize: string;
  backend: string;
  json?: boolean;
}

/** Default calibration size: a few hundred images, as post-training quantization usually takes. */
const DEFAULT_IMAGES = '256';

export function register(program: Command): void {
  program
    .command('quantize')
    .description('int8 post-training quantization: calibrate activation ranges on images, write a model folder for --precision int8')
    .argument('<model-dir>', "model folder written by 'resnet train'")
    .requiredOption('--calibration <path>', 'image folder or .h5 file to calibrate on (training images, not the test set)')
    .option('--images <n>', 'calibration images (balanced over classes)', DEFAULT_IMAGES)
    .option('--out <dir>', 'output folder (default: <model-dir>-int8)')
    .option('--batch-size <n>', 'images per calibration batch', '32')
    .option('--backend <engine>', 'the engine (int8 needs native)', 'native')
    .option('--json', 'print one JSON line')
    .action(
      action(async (modelDir: string, flags: QuantizeFlags) => {
        const images = positiveInt('images', flags.images);
        const batchSize = positiveInt('batch-size', flags.batchSize);
        const [tf, { loadDataset }, { loadModelFolder, modelFiles, writeFolderAtomically }, { compileForInference }, { startInference, QUANTIZATION_FILE }, { alignClasses, evaluateModel }] =
          await Promise.all([
            import('../../tf.js'),
            import('../../data/node.js'),
            import('../../train/checkpoint.js'),
            import('../../infer/compile.js'),
            import('../../infer/node.js'),
            import('../../train/evaluate.js'),
          ]);
        await startInference(flags.backend, 'int8');
        const { model, metadata, path } = await loadModelFolder(modelDir);
        const out = resolve(flags.out ?? join(dirname(resolve(path)), `${basename(resolve(path))}-int8`));
        if (out === resolve(path)) throw new UserError('--out must differ from the model folder');
        const [h, w, c] = metadata.inputShape;
        const data = await loadDataset(flags.calibration, { imageSize: [h, w], channels: c, limit: images, resize: metadata.resize?.mode });
        const n = data.shape[0];
        if (n === 0) throw new UserError(`${flags.calibration}: no images to calibrate on`);
        const compiled = compileForInference(model, { precision: 'float32' });
        const imageLength = h * w * c;
        const batches = function* () {
          for (let start = 0; start < n; start += batchSize) {
            const end = Math.min(n, start + batchSize);
            // The data set holds 8-bit levels; the model takes pixels / 255.
            const pixels = Float32Array.from(data.images.subarray(start * imageLength, end * imageLength), (level) => level / 255);
            const x = tf.tensor4d(pixels, [end - start, h, w, c]);
            yield x;
            x.dispose();
          }
        };
        const ranges = compiled.observeRanges!(batches());
        compiled.dispose();
        // The cost on the calibration images themselves: top-1 agreement of int8 with float32.
        const labelled = alignClasses(data, metadata.classNames);
        const float32 = evaluateModel(model, labelled, batchSize, { precision: 'float32' });
        const int8 = evaluateModel(model, labelled, batchSize, { precision: 'int8', ranges });
        let agree = 0;
        for (let i = 0; i < n; i++) agree += Number(float32.predicted[i] === int8.predicted[i]);
        const files = await modelFiles(model, metadata);
        const quantization = {
          format: 'resnet-ts-int8-calibration', version: 1,
          scheme: 'weights: int8 per output channel, symmetric (max |w| / 127), batch norm folded first; activations: u8 (min >= 0) or s8, symmetric, scale max |x| / 255 or / 127 from the ranges below',
          calibration: { data: data.source, images: n },
          ranges,
        };
        await writeFolderAtomically(out, { ...files, [QUANTIZATION_FILE]: JSON.stringify(quantization, null, 1) });
        model.dispose();
        const summary = {
          model: path, out, calibration: data.source, images: n, values: Object.keys(ranges).length,
          calibration_accuracy_float32: float32.accuracy, calibration_accuracy_int8: int8.accuracy, top1_agreement: agree / n,
        };
        if (flags.json) {
          console.log(JSON.stringify(summary));
          return;
        }
        console.log(`calibrated ${summary.values} activations on ${n} images of ${data.source}`);
        console.log(`on those images: accuracy float32 ${float32.accuracy.toFixed(4)}, int8 ${int8.accuracy.toFixed(4)}, top-1 agreement ${(agree / n).toFixed(4)}`);
        console.log(`wrote ${out} (predict or evaluate it with --precision int8)`);
      }),
    );
}
