// `resnet bench`: training and prediction throughput of a model on an engine (../shared/spec/benchmark.md).
import type { Command } from 'commander';
import { measureThroughput } from '../../inspect/throughput.js';
import { startInference } from '../../infer/node.js';
import { action, nonNegativeInt, positiveInt } from '../run.js';
import { parseInputShape } from '../options.js';
import { MAX_CLASSES } from '../../limits.js';

interface BenchFlags {
  model: string;
  input: string;
  classes: string;
  batchSize: string;
  backend: string;
  precision: string;
  warmup: string;
  steps: string;
  profile?: boolean;
  predictOnly?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('measure training and prediction throughput (images per second) on an engine')
    .option('--model <name>', 'model name', 'resnet50')
    .option('--input <S|H,W,C>', 'input size: S for SxSx3, or H,W,C', '64')
    .option('--classes <n>', 'number of classes', '6')
    .option('--batch-size <n>', 'images per step', '32')
    .option('--backend <name>', 'engine: auto, native, wasm or cpu', 'auto')
    .option('--precision <type>', 'float32, bfloat16 mixed precision (native engine, AVX512_BF16), or int8 prediction (native, VNNI; trains in float32, calibrates on the batch)', 'float32')
    .option('--warmup <n>', 'untimed training steps first', '2')
    .option('--steps <n>', 'timed training steps and prediction batches', '8')
    .option('--profile', 'add a per-kernel profile of one training step and one prediction')
    .option('--predict-only', 'time prediction only (batch latency median and p99 included)')
    .option('--json', 'print one JSON line')
    .action(
      action(async (flags: BenchFlags) => {
        const inputShape = parseInputShape(flags.input);
        const classes = positiveInt('classes', flags.classes, MAX_CLASSES);
        const batchSize = positiveInt('batch-size', flags.batchSize);
        const warmupSteps = nonNegativeInt('warmup', flags.warmup);
        const steps = positiveInt('steps', flags.steps);
        const { engine: backend, precision } = await startInference(flags.backend, flags.precision);
        const [{ activationBytes }, { checkMemory }] = await Promise.all([import('../../inspect/memory.js'), import('../../io/memory.js')]);
        const result = await measureThroughput({
          model: flags.model,
          inputShape,
          classes,
          batchSize,
          warmupSteps,
          steps,
          profile: Boolean(flags.profile),
          predictOnly: Boolean(flags.predictOnly),
          predictPrecision: precision,
          beforeRun: (model) =>
            checkMemory(activationBytes(model, batchSize), `${flags.model} on batches of ${batchSize} images of ${inputShape.join('x')}`, 'use a smaller --batch-size or --input'),
        });
        result.precision = flags.precision;
        if (backend === 'native') result.threads = (await import('../../engine/native/backend.js')).nativeThreads() ?? undefined;
        if (flags.json) {
          process.stdout.write(JSON.stringify(result) + '\n');
          return;
        }
        console.log(`${result.model} ${result.input.join('x')} batch ${result.batch_size} on ${backend} (${flags.precision}):`);
        if (result.train_images_per_sec !== null) console.log(`  train   ${result.train_images_per_sec} img/s (${result.train_step_seconds} s/step)`);
        console.log(`  predict ${result.predict_images_per_sec} img/s (${result.predict_executor}, ${result.predict_precision}; median ${result.predict_batch_ms_median} ms, p99 ${result.predict_batch_ms_p99} ms per batch; layers unfused ${result.predict_layers_images_per_sec} img/s)`);
        for (const k of result.predict_profile ?? []) console.log(`  predict ${k.kind.padEnd(20)} ${String(k.calls).padStart(5)} ops   ${k.ms.toFixed(2).padStart(9)} ms`);
        for (const k of result.predict_profile_top ?? []) console.log(`    ${k.ms.toFixed(2).padStart(8)} ms  ${k.op}`);
        for (const k of result.profile?.kernels ?? []) console.log(`  ${k.kernel.padEnd(28)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(1).padStart(9)} ms ${(k.share * 100).toFixed(1).padStart(5)}%`);
      }),
    );
}
