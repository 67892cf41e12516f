// The list of sub-commands of `resnet`, in the order `resnet --help` shows them.
import type { Command } from 'commander';
import { register as summary } from './summary.js';
import { register as bench } from './bench.js';
import { register as info } from './info.js';
import { register as train } from './train.js';
import { register as evaluate } from './evaluate.js';
import { register as predict } from './predict.js';
import { register as gradients } from './gradients.js';
import { register as explain } from './explain.js';
import { register as serve } from './serve.js';
import { register as importModel } from './import.js';
import { register as exportModel } from './export.js';
import { register as quantize } from './quantize.js';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [summary, bench, info, train, evaluate, predict, quantize, explain, serve, importModel, exportModel, gradients];
