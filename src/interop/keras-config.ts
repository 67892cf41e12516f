// Reads a saved Keras model configuration (Keras 2's `model_config` in legacy .h5 files, Keras 3's
// config.json in .keras archives) far enough to import weights: the model's name and input shape,
// and its layers in order, nested models flattened, each with the path under which Keras 3 stores
// its variables. Keras 3 keys a layer's variables by class-name counters in the order of its
// container's `layers` (layers/conv2d, layers/conv2d_1, ..., nested: layers/functional/layers/...),
// and a Functional model's config lists its layers in that very order, so the mapping is read off
// the config, never guessed. Browser-safe.
import { UserError } from '../errors.js';

export interface KerasLayerEntry {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Where Keras 3 keeps this layer's variables: `${path}/vars/0`, `${path}/vars/1`, ... */
  path: string;
}

export interface KerasModelInfo {
  /** The top-level model's name. */
  modelName?: string;
  /** [height, width, channels] of the input (null: any). */
  inputShape?: (number | null)[];
  /** Every layer, nested models flattened in place, in order. */
  layers: KerasLayerEntry[];
}

/** Nested models deeper than this are refused (a hostile config could recurse without end). */
const MAX_NESTING = 8;
/** Layers in one file (ResNet-152 has 517). */
const MAX_LAYERS = 100_000;
const CONTAINERS = new Set(['Functional', 'Model', 'Sequential']);

/** Keras's keras.src.utils.naming.to_snake_case, the class-name part of a Keras 3 variable path. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keras 3's batch_shape or Keras 2's batch_input_shape of an input layer, without the batch axis. */
function inputShapeOf(layer: Record<string, unknown>): (number | null)[] | undefined {
  const config = isObject(layer.config) ? layer.config : {};
  const shape = config.batch_shape ?? config.batch_input_shape;
  if (!Array.isArray(shape) || shape.length < 2 || !shape.slice(1).every((d) => d === null || Number.isSafeInteger(d))) return undefined;
  return shape.slice(1) as (number | null)[];
}

export function parseKerasConfig(json: unknown, source: string): KerasModelInfo {
  if (!isObject(json) || !isObject(json.config)) throw new UserError(`${source}: the model configuration is not a Keras model config`);
  const layers: KerasLayerEntry[] = [];
  let inputShape: (number | null)[] | undefined;
  const walk = (model: Record<string, unknown>, path: string, depth: number): void => {
    if (depth > MAX_NESTING) throw new UserError(`${source}: models nested more than ${MAX_NESTING} deep`);
    const className = String(model.class_name);
    const config = model.config as Record<string, unknown>;
    if (!Array.isArray(config.layers)) throw new UserError(`${source}: model config '${className}' has no layer list`);
    const counters = new Map<string, number>();
    for (const raw of config.layers) {
      if (!isObject(raw) || typeof raw.class_name !== 'string') throw new UserError(`${source}: a layer entry of the model config is malformed`);
      if (layers.length >= MAX_LAYERS) throw new UserError(`${source}: more than ${MAX_LAYERS} layers`);
      const layerConfig = isObject(raw.config) ? raw.config : {};
      const name = typeof raw.name === 'string' ? raw.name : typeof layerConfig.name === 'string' ? layerConfig.name : '';
      if (inputShape === undefined && depth === 0) inputShape = inputShapeOf(raw);
      // A Sequential model's `layers` leaves out its InputLayer, and so do its variable paths.
      if (className === 'Sequential' && raw.class_name === 'InputLayer') continue;
      const base = toSnakeCase(raw.class_name);
      const seen = counters.get(base);
      counters.set(base, seen === undefined ? 0 : seen + 1);
      const layerPath = `${path}/${seen === undefined ? base : `${base}_${seen + 1}`}`;
      if (CONTAINERS.has(raw.class_name) && Array.isArray(layerConfig.layers)) walk(raw, `${layerPath}/layers`, depth + 1);
      else layers.push({ name, className: raw.class_name, config: layerConfig, path: layerPath });
    }
  };
  walk(json, 'layers', 0);
  const modelName = typeof json.config.name === 'string' ? json.config.name : undefined;
  return { modelName, inputShape, layers };
}

/** Parses the JSON text of a model configuration, with one clear message when it is not JSON. */
export function parseKerasConfigText(text: string, source: string): KerasModelInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${source}: the model configuration is not valid JSON`);
  }
  return parseKerasConfig(json, source);
}
