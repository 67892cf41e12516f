// Shared plumbing of the sub-commands: user mistakes and failures of the machine (disk full, out of
// memory, a read-only folder) become one line on stderr and exit status 2; anything else is a bug and
// keeps its stack trace.
import { UserError } from '../errors.js';
import { describeSystemError, isSystemError } from '../io/fs-errors.js';

export function fail(message: string): never {
  throw new UserError(message);
}

const MEMORY_ERRORS = /Array buffer allocation failed|Invalid typed array length|Invalid array buffer length|Invalid array length|Cannot allocate Wasm memory|Out of memory|Aborted\(OOM\)|Cannot enlarge memory|could not allocate memory/i;

/** The one line to print for `error`, or null when it is a bug (whose stack must show). */
export function userMessage(error: unknown): string | null {
  if (error instanceof UserError) return error.message;
  if (isSystemError(error)) return `${error.path ? `${error.path}: ` : ''}${describeSystemError(error)}`;
  const message = error instanceof Error ? error.message : String(error);
  if ((error instanceof RangeError || error instanceof Error) && MEMORY_ERRORS.test(message)) {
    return `not enough memory (${message.split('\n')[0].slice(0, 200)}); use fewer or smaller images (--limit, --image-size) or a smaller --batch-size`;
  }
  return null;
}

/** Prints `resnet: error: <message>` and exits 2 when `error` is the user's or the machine's; false for a bug. */
export function reportUserError(error: unknown): boolean {
  const message = userMessage(error);
  if (message === null) return false;
  process.stderr.write(`resnet: error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(2);
}

/** Wraps a command action so that a UserError prints `resnet: error: ...` and exits 2. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (!reportUserError(err)) throw err;
    }
  };
}

/** Parses a positive integer option, failing with a clear message otherwise. */
export function positiveInt(name: string, value: string | number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'number' ? value : String(value).trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got '${value}'`);
  if (n > max) fail(`--${name} must be at most ${max}, got '${value}'`);
  return n;
}

/** Parses a non-negative integer option (0 allowed), failing with a clear message otherwise. */
export function nonNegativeInt(name: string, value: string | number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'number' ? value : String(value).trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got '${value}'`);
  if (n > max) fail(`--${name} must be at most ${max}, got '${value}'`);
  return n;
}

/** Parses a number option within [min, max]. */
export function numberIn(name: string, value: string | number, min: number, max: number): number {
  const n = typeof value === 'number' ? value : String(value).trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number in [${min}, ${max}], got '${value}'`);
  return n;
}

/** A path option: a non-empty string without NUL bytes. */
export function pathOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.includes('\0')) fail(`--${name} must be a path, got ${JSON.stringify(value) ?? String(value)}`);
  return value;
}
