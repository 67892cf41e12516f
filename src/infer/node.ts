// The command line's side of inference (Node-only): the --precision option of predict, evaluate
// and bench (float32, bfloat16, int8), the int8 calibration stored beside a model
// (quantization.json, written by `resnet quantize`), and the precisions each engine predicts in.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { enginePrecisions, startEngine, type EngineName } from '../engine/backends.js';
import { INFERENCE_PRECISIONS, type ActivationRanges, type InferenceOptions, type InferencePrecision } from './compile.js';

/** The calibration file's name inside a quantized model folder. */
export const QUANTIZATION_FILE = 'quantization.json';
const FORMAT = 'resnet-ts-int8-calibration';

/** What quantization.json holds. */
export interface QuantizationFile {
  format: typeof FORMAT;
  version: 1;
  /** How weights and activations are quantized (for people reading the file). */
  scheme: string;
  calibration: { data: string; images: number };
  /** [min, max] of each graph value (by its Keras tensor name) over the calibration images. */
  ranges: ActivationRanges;
}

export function parseInferencePrecision(value: string): InferencePrecision {
  if (!(INFERENCE_PRECISIONS as readonly string[]).includes(value)) {
    throw new UserError(`--precision must be one of ${INFERENCE_PRECISIONS.join(', ')}; got '${value}'`);
  }
  return value as InferencePrecision;
}

/**
 * Starts the engine for prediction in `precision`: int8 runs on the native engine in float32 (its
 * convolutions are int8 inside the compiled plan); float32 and bfloat16 set the engine's precision.
 */
export async function startInference(backend: string, precision: string): Promise<{ engine: EngineName; precision: InferencePrecision }> {
  const type = parseInferencePrecision(precision);
  const engine = await startEngine(backend, type === 'int8' ? 'float32' : type);
  if (type === 'int8' && engine !== 'native') throw new UserError(`precision int8 needs the native engine (the ${engine} engine computes in float32)`);
  return { engine, precision: type };
}

/** The int8 calibration of a model folder, or null when it has none. Throws a UserError when it is damaged. */
export async function readQuantization(folder: string): Promise<QuantizationFile | null> {
  const path = join(folder, QUANTIZATION_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let json: QuantizationFile;
  try {
    json = JSON.parse(text) as QuantizationFile;
  } catch (error) {
    throw new UserError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const ranges = json?.ranges;
  const valid = json?.format === FORMAT && typeof ranges === 'object' && ranges !== null &&
    Object.values(ranges).every((r) => Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) && r[0] <= r[1]);
  if (!valid) throw new UserError(`${path}: not an int8 calibration written by 'resnet quantize' (damaged?)`);
  return json;
}

/** The compile options for `precision` on the model in `folder` (int8: its calibration, or a UserError). */
export async function inferenceOptions(precision: InferencePrecision, folder: string): Promise<InferenceOptions> {
  if (precision !== 'int8') return { precision };
  const quantization = await readQuantization(folder);
  if (!quantization) throw new UserError(`${folder} has no int8 calibration (${QUANTIZATION_FILE}): make one with 'resnet quantize ${folder} --calibration DATA'`);
  return { precision, ranges: quantization.ranges };
}

/** The precisions `engine` predicts in here: its own, plus int8 on the native engine where the CPU has VNNI. */
export async function inferencePrecisions(engine: EngineName): Promise<InferencePrecision[]> {
  const own: InferencePrecision[] = await enginePrecisions(engine);
  if (engine !== 'native') return own;
  const { loadAddon } = await import('../engine/native/addon.js');
  const addon = loadAddon() as { inferInt8?: () => boolean } | null;
  return addon?.inferInt8?.() ? [...own, 'int8'] : own;
}
