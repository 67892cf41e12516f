// The list of sub-commands of `resnet`, in the order `resnet --help` shows them.
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [];
