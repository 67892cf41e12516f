// `resnet import FILE --out DIR`: a pretrained ResNet from Keras (.h5, .keras) or PyTorch
// (.safetensors) as an ordinary model folder that predict, evaluate and train use (docs/interop.md).
import type { Command } from 'commander';
import { action, fail, positiveInt } from '../run.js';

interface ImportFlags {
  out: string;
  model?: string;
  classes?: string;
  inputSize?: string;
  preprocessing?: string;
  backend: string;
}

/** "224" -> [224, 224]; "240,320" -> [240, 320]. */
function parseSize(value: string): [number, number] {
  const parts = value.split(',').map((p) => Number(p.trim()));
  const size = parts.length === 1 ? [parts[0], parts[0]] : parts;
  if (size.length !== 2 || !size.every((n) => Number.isInteger(n) && n > 0 && n <= 4096)) fail(`--input-size must be S or H,W (positive integers up to 4096), got '${value}'`);
  return size as [number, number];
}

export function register(program: Command): void {
  program
    .command('import')
    .description('import a pretrained ResNet (Keras .h5 / .keras, PyTorch .safetensors) as a model folder')
    .argument('<file>', 'Keras .h5 (model or weights) or .keras archive, or a PyTorch state dict as .safetensors')
    .requiredOption('--out <dir>', 'model folder to write')
    .option('--model <name>', "architecture (see 'resnet models'); default: told from the file")
    .option('--classes <n>', 'keep the backbone and put on a new head with n classes')
    .option('--input-size <s>', 'input size S or H,W in pixels; default: the file\'s, else 224 (64 for the course ResNet-50)')
    .option('--preprocessing <name>', "input normalisation the weights expect: none, caffe, tf, torch (default: the file's kind)")
    .option('--backend <engine>', 'auto, native, wasm or cpu', 'auto')
    .action(
      action(async (file: string, flags: ImportFlags) => {
        const classes = flags.classes === undefined ? undefined : positiveInt('classes', flags.classes);
        const inputSize = flags.inputSize === undefined ? undefined : parseSize(flags.inputSize);
        const [{ importModel, writeModelFolder }, { startEngine }] = await Promise.all([import('../../interop/import.js'), import('../../engine/backends.js')]);
        await startEngine(flags.backend);
        const started = performance.now();
        const { model, metadata, format } = await importModel(file, { model: flags.model, classes, inputSize, preprocessing: flags.preprocessing });
        await writeModelFolder(flags.out, model, metadata);
        const seconds = (performance.now() - started) / 1000;
        const parameters = model.countParams();
        model.dispose();
        console.log(
          `${file}: ${format} -> ${flags.out}: ${metadata.model}, ${metadata.inputShape.join('x')} input, ${metadata.classNames.length} classes, ` +
            `${parameters.toLocaleString('en-US')} parameters, preprocessing ${metadata.preprocessing} (${seconds.toFixed(1)} s)`,
        );
      }),
    );
}
