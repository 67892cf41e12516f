// Shared plumbing of the sub-commands: user mistakes become one line on stderr and exit status 2;
// anything else is a bug and keeps its stack trace.
import { UserError } from '../errors.js';

export function fail(message: string): never {
  throw new UserError(message);
}

/** Wraps a command action so that a UserError prints `resnet: error: ...` and exits 2. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof UserError) {
        process.stderr.write(`resnet: error: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
  };
}

/** Parses a positive integer option, failing with a clear message otherwise. */
export function positiveInt(name: string, value: string | number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got '${value}'`);
  return n;
}

/** Parses a non-negative integer option (0 allowed), failing with a clear message otherwise. */
export function nonNegativeInt(name: string, value: string | number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got '${value}'`);
  return n;
}

/** Parses a number option within [min, max]. */
export function numberIn(name: string, value: string | number, min: number, max: number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number in [${min}, ${max}], got '${value}'`);
  return n;
}
