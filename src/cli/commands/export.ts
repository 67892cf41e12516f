// `resnet export DIR --format keras|onnx --out FILE`: a model folder as a Keras 3 .keras archive
// (keras.saving.load_model reads it, no custom objects) or an ONNX model (opset 13, NHWC input in
// [0, 1], dynamic batch) for onnxruntime (docs/interop.md).
import type { Command } from 'commander';
import { action } from '../run.js';

interface ExportFlags {
  format: string;
  out: string;
  backend: string;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export a model folder as a Keras 3 .keras archive or an ONNX model')
    .argument('<dir>', "model folder written by 'resnet train' or 'resnet import'")
    .requiredOption('--format <format>', 'keras or onnx')
    .requiredOption('--out <file>', 'file to write (.keras or .onnx)')
    .option('--backend <engine>', 'auto, native, wasm or cpu', 'auto')
    .action(
      action(async (dir: string, flags: ExportFlags) => {
        const [{ exportModel, EXPORT_FORMATS }, { startEngine }] = await Promise.all([import('../../interop/export.js'), import('../../engine/backends.js')]);
        if (!(EXPORT_FORMATS as readonly string[]).includes(flags.format)) {
          const { UserError } = await import('../../errors.js');
          throw new UserError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got '${flags.format}'`);
        }
        await startEngine(flags.backend);
        const { bytes, metadata } = await exportModel(dir, flags.format, flags.out);
        const what = flags.format === 'keras' ? 'Keras 3 archive' : 'ONNX model (opset 13, input NHWC float32 in [0, 1], dynamic batch)';
        console.log(`${dir} -> ${flags.out}: ${what}, ${metadata.model}, ${metadata.classNames.length} classes, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
      }),
    );
}
