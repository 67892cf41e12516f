// `resnet models` and `resnet engines`: what can be built, and what can run it on this machine.
import type { Command } from 'commander';
import { modelNames } from '../../models/registry.js';
import { availableBackends, enginePrecisions, engineUnavailableReason, ENGINES } from '../../engine/backends.js';
import { action } from '../run.js';
import { inferencePrecisions } from '../../infer/node.js';

export function register(program: Command): void {
  program
    .command('models')
    .description('list the model names that --model accepts')
    .option('--json', 'print a JSON array')
    .action(
      action((flags: { json?: boolean }) => {
        const names = modelNames();
        console.log(flags.json ? JSON.stringify(names) : names.join('\n'));
      }),
    );
  program
    .command('engines')
    .description('list the TensorFlow.js engines, whether each runs on this machine (fastest first) and in which precisions')
    .option('--json', 'print one JSON object: engine -> available (true/false)')
    .action(
      action(async (flags: { json?: boolean }) => {
        const available = new Set(await availableBackends());
        if (flags.json) {
          console.log(JSON.stringify(Object.fromEntries(ENGINES.map((name) => [name, available.has(name)]))));
          return;
        }
        for (const name of ENGINES) {
          const detail = available.has(name)
            ? `available (precision: ${(await enginePrecisions(name)).join(', ')}; inference: ${(await inferencePrecisions(name)).join(', ')})`
            : `not available: ${await engineUnavailableReason(name)}`;
          console.log(`${name.padEnd(7)} ${detail}`);
        }
      }),
    );
}
