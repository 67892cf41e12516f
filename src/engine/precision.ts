// What the convolutions multiply in: float32, or bfloat16 mixed precision (native engine only).
// Its own module so that the engine choice (backends.ts) and the native engine (native/) both
// depend on it, and not on each other: backends.ts loads native/ (dynamically), never the reverse.
import { UserError } from '../errors.js';

export type Precision = 'float32' | 'bfloat16';
export const PRECISIONS: readonly Precision[] = ['float32', 'bfloat16'];

export function isPrecision(name: string): name is Precision {
  return (PRECISIONS as readonly string[]).includes(name);
}

/** `value` as a Precision, or a UserError naming the option (for the CLI and the trainer's options). */
export function parsePrecision(value: string): Precision {
  if (!isPrecision(value)) throw new UserError(`--precision must be one of ${PRECISIONS.join(', ')}; got '${value}'`);
  return value;
}
