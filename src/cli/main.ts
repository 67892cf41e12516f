#!/usr/bin/env node
// The `resnet` command. Each sub-command lives in src/cli/commands/<name>.ts and registers itself here.
// Every failure that is not a bug ends as one line, `resnet: error: ...`, with exit status 2: command-line
// mistakes caught by commander, UserErrors, and machine failures (src/cli/run.ts).
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.js';
import { reportUserError } from './run.js';

// Errors that escape the command's promise chain (a library's rejected start-up promise, a stream).
process.on('uncaughtException', (error) => {
  if (!reportUserError(error)) {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  }
});
process.on('unhandledRejection', (reason) => {
  if (!reportUserError(reason)) {
    process.stderr.write(`${(reason as Error)?.stack ?? String(reason)}\n`);
    process.exit(1);
  }
});

const program = new Command()
  .name('resnet')
  .description('Build, train, evaluate and inspect residual networks (ResNets) from TypeScript')
  .exitOverride()
  .configureOutput({
    // commander's "error: unknown option '--x'" becomes one line in the project's form; help stays as it is.
    outputError: (text, write) => write(`resnet: ${text.trim().replace(/\s*\n\s*/g, ' ')} (see resnet --help)\n`),
  });
for (const register of commands) register(program);

// `resnet` alone runs the main job: training the default model on the embedded MNIST digits.
const argv = process.argv.length <= 2 ? [...process.argv, 'train'] : process.argv;
try {
  await program.parseAsync(argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // --help and --version exit 0; mistakes on the command line exit 2, like every other user error.
  process.exit(error.exitCode === 0 ? 0 : 2);
}
