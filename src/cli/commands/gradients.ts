// `resnet gradients`: the gradient-flow study (docs/gradients.md). Trains a plain network and its
// residual twin side by side for each depth, with and without batch norm, with Glorot and He init.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadDataset } from '../../data/node.js';
import { useBackend } from '../../engine/backends.js';
import { runGradientStudy, studyJson, type StudyConfig, type StudyRun } from '../../study/gradients.js';
import { configLabel, studyFigures } from '../../study/plots.js';
import { action, fail, numberIn, pathOption, positiveInt } from '../run.js';
import { MAX_STUDY_DEPTH } from '../../limits.js';
import { parseBackend } from '../options.js';
import { fileError, makeFolder } from '../../io/fs-errors.js';

/**
 * Defaults sized for a 2-core machine: 4 configurations x depths 20 and 56 (16 networks) take about a
 * quarter of an hour on the wasm engine. Learning rate: He et al.'s 0.1 at batch 128, scaled to batch
 * 16 (0.0125) and rounded up; at 0.1 the He-initialised residual nets without BN diverge in 4 steps.
 */
export const GRADIENT_DEFAULTS = { depth: '20,56', steps: '60', batchSize: '16', recordEvery: '10', lr: '0.02', momentum: '0.9', seed: '0' };

interface GradientFlags {
  depth: string;
  data?: string;
  steps: string;
  batchSize: string;
  recordEvery: string;
  lr: string;
  momentum: string;
  bn: string;
  init: string;
  seed: string;
  out: string;
  json?: boolean;
  backend: string;
}

function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!(allowed as readonly string[]).includes(item)) fail(`--${flag}: '${item}' is not one of ${allowed.join(', ')}`);
  if (items.length === 0) fail(`--${flag} needs at least one of ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

function parseDepths(value: string): number[] {
  return value.split(',').map((s) => {
    const depth = positiveInt('depth', s.trim(), MAX_STUDY_DEPTH);
    if ((depth - 2) % 6 !== 0 || depth < 8) fail(`--depth: ${depth} is not 6n+2 (8, 14, 20, 32, 44, 56, 110, ...)`);
    return depth;
  });
}

function summaryLine(run: StudyRun): string {
  const first = (t: StudyRun['plain']) => t.layerGradNorms.at(-1)?.norms[0];
  const loss = (t: StudyRun['plain']) => {
    const tail = t.loss.slice(-10);
    return tail.length ? (tail.reduce((a, b) => a + b, 0) / tail.length).toPrecision(4) : '-';
  };
  const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toExponential(2));
  const diverged = (t: StudyRun['plain']) => (t.divergedAtStep === null ? '' : ` (diverged at step ${t.divergedAtStep})`);
  return (
    `depth ${run.depth}, ${configLabel(run)}: first-layer gradient norm plain ${fmt(first(run.plain))} vs residual ${fmt(first(run.residual))}; ` +
    `final loss plain ${loss(run.plain)}${diverged(run.plain)} vs residual ${loss(run.residual)}${diverged(run.residual)}`
  );
}

export function register(program: Command): void {
  const d = GRADIENT_DEFAULTS;
  program
    .command('gradients')
    .description('gradient-flow study: per-layer gradient norms and training loss of plain vs residual networks (docs/gradients.md)')
    .option('--depth <list>', 'CIFAR-style depths 6n+2, comma-separated', d.depth)
    .option('--data <path>', 'training images (folder or .h5, e.g. SIGNS); default: the embedded MNIST digits')
    .option('--steps <n>', 'SGD steps per network', d.steps)
    .option('--batch-size <n>', 'images per step', d.batchSize)
    .option('--record-every <n>', 'steps between gradient-norm records', d.recordEvery)
    .option('--lr <rate>', 'SGD learning rate', d.lr)
    .option('--momentum <m>', 'SGD momentum', d.momentum)
    .option('--bn <list>', 'batch normalisation: on, off or on,off', 'on,off')
    .option('--init <list>', 'kernel initializers: glorot, he or glorot,he', 'glorot,he')
    .option('--seed <n>', 'seed of the kernels and the batch order', d.seed)
    .option('--out <dir>', 'folder for the SVG figures and study.json', 'gradient-study')
    .option('--json', 'print one JSON line (first depth/configuration at the top level, others under their keys)')
    .option('--backend <name>', 'engine: auto, native, wasm or cpu', 'auto')
    .action(
      action(async (flags: GradientFlags) => {
        const depths = parseDepths(flags.depth);
        const bn = parseList('bn', flags.bn, ['on', 'off'] as const);
        const inits = parseList('init', flags.init, ['glorot', 'he'] as const);
        const configs: StudyConfig[] = bn.flatMap((b) => inits.map((init) => ({ batchNorm: b === 'on', init })));
        const seed = Number(flags.seed);
        if (!Number.isInteger(seed) || seed < 0) fail(`--seed must be a non-negative integer, got '${flags.seed}'`);
        const options = {
          depths,
          configs,
          steps: positiveInt('steps', flags.steps),
          batchSize: positiveInt('batch-size', flags.batchSize),
          recordEvery: positiveInt('record-every', flags.recordEvery),
          learningRate: numberIn('lr', flags.lr, 1e-6, 10),
          momentum: numberIn('momentum', flags.momentum, 0, 0.999),
          seed,
        };
        const out = pathOption('out', flags.out);
        if (flags.data !== undefined) pathOption('data', flags.data);
        const engine = await useBackend(parseBackend(flags.backend));
        const data = await loadDataset(flags.data);
        const total = configs.length * depths.length * options.steps;
        let done = 0;
        const started = Date.now();
        const runs = runGradientStudy(data, {
          ...options,
          onStep: (key, step) => {
            done++;
            if (!flags.json && (step + 1) % 10 === 0) {
              process.stderr.write(`\r${key}: step ${step + 1}/${options.steps} (${Math.round((100 * done) / total)}%, ${((Date.now() - started) / 1000).toFixed(0)} s)   `);
            }
          },
        });
        if (!flags.json) process.stderr.write('\n');
        const json = studyJson(runs, options.steps);
        await makeFolder(out, 'cannot create the output folder');
        try {
          await writeFile(join(out, 'study.json'), JSON.stringify({ engine, data: data.source, ...options, result: json }) + '\n');
          for (const figure of await studyFigures(runs)) await writeFile(join(out, figure.file), figure.svg);
        } catch (error) {
          throw fileError(error, 'cannot write the study into', out);
        }
        if (flags.json) {
          process.stdout.write(JSON.stringify(json) + '\n');
          return;
        }
        console.log(`${data.source} ${data.shape.slice(1).join('x')}, ${options.steps} steps of ${options.batchSize} images, SGD lr ${options.learningRate} momentum ${options.momentum}, on ${engine} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
        for (const run of runs) console.log(summaryLine(run));
        console.log(`figures and study.json in ${flags.out}/`);
      }),
    );
}
