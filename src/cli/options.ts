// Option parsers shared by several sub-commands.
import { fail } from './run.js';
import { isEngineName, type EngineName } from '../engine/backends.js';
import { MAX_IMAGE_SIDE } from '../limits.js';

/** "64,64,3" → [64, 64, 3]; "64" → [64, 64, 3] (square RGB). */
export function parseInputShape(value: string): [number, number, number] {
  const parts = value.split(',').map((p) => Number(p.trim()));
  const shape = parts.length === 1 ? [parts[0], parts[0], 3] : parts;
  if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n > 0 && n <= MAX_IMAGE_SIDE)) {
    fail(`--input must be H,W,C (or one size S for S,S,3) with whole numbers from 1 to ${MAX_IMAGE_SIDE}, got '${value}'`);
  }
  return shape as [number, number, number];
}

export function parseBackend(value: string): EngineName | 'auto' {
  if (value !== 'auto' && !isEngineName(value)) fail(`--backend must be one of auto, native, wasm, cpu; got '${value}'`);
  return value as EngineName | 'auto';
}
