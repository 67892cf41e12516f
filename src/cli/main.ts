#!/usr/bin/env node
// The `resnet` command. Each sub-command lives in src/cli/commands/<name>.ts and registers itself here.
import { Command } from 'commander';
import { commands } from './commands/index.js';

const program = new Command()
  .name('resnet')
  .description('Build, train, evaluate and inspect residual networks (ResNets) from TypeScript')
  .showHelpAfterError();
for (const register of commands) register(program);

// `resnet` alone runs the main job: training the default model on the embedded MNIST digits.
const argv = process.argv.length <= 2 ? [...process.argv, 'train'] : process.argv;
await program.parseAsync(argv);
