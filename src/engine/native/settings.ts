// The native engine's environment variables, read when it registers. A variable that is set to a
// value the engine cannot use is an error (a UserError: one line, exit 2 in the CLI), never
// silently ignored; an empty value counts as unset. RESNET_NATIVE_POOL_MB is read by buffers.ts.
import { UserError } from '../../errors.js';
import { isPrecision, PRECISIONS, type Precision } from '../precision.js';

/** The most threads accepted (the addon's kMaxThreads, native/src/common.h). */
export const MAX_THREADS = 1024;

export interface NativeSettings {
  /** RESNET_NATIVE_THREADS: OpenMP threads of oneDNN's primitives (0: OpenMP's default, all cores). */
  threads: number;
  /** RESNET_NATIVE_LOOP_THREADS: threads of the addon's memory-bound loops (0: the same as threads). */
  loopThreads: number;
  /** RESNET_NATIVE_PRECISION: the convolutions' precision from the start (null: float32, unchanged). */
  precision: Precision | null;
}

function threadCount(env: NodeJS.ProcessEnv, name: string): number {
  const value = env[name];
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < 1 || n > MAX_THREADS) {
    throw new UserError(`${name} must be a whole number of threads from 1 to ${MAX_THREADS}; got '${value}'`);
  }
  return n;
}

/** The settings from `env`; a UserError naming the variable for a value that is set and invalid. */
export function readNativeSettings(env: NodeJS.ProcessEnv = process.env): NativeSettings {
  const precision = env.RESNET_NATIVE_PRECISION;
  if (precision !== undefined && precision !== '' && !isPrecision(precision)) {
    throw new UserError(`RESNET_NATIVE_PRECISION must be one of ${PRECISIONS.join(', ')}; got '${precision}'`);
  }
  return {
    threads: threadCount(env, 'RESNET_NATIVE_THREADS'),
    loopThreads: threadCount(env, 'RESNET_NATIVE_LOOP_THREADS'),
    precision: precision ? (precision as Precision) : null,
  };
}
