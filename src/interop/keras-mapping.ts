// Which architecture a Keras file holds, told from its weighted layers' names (and, for files this
// project exported, the registry name it recorded), and its weights keyed by this project's layer
// names. keras.applications' layer names are the family builder's own (conv1_conv,
// conv2_block1_1_conv, ..., predictions), and the course ResNet-50's are the classic Keras ones
// (conv1, bn_conv1, res2a_branch2a, ..., fc1000), so layers map by name; only the classifier head
// may be renamed (a backbone nested in a transfer-learning model ends in 'dense'). Browser-safe.
import { UserError } from '../errors.js';
import { modelNames } from '../models/registry.js';
import { PREPROCESSING_PRESETS, type PreprocessingConfig } from '../models/preprocessing.js';
import type { LayerWeights } from './assign.js';
import type { KerasModelInfo } from './keras-config.js';
import type { ImportPlan } from './plan.js';
import type { LazyArray } from './tensors.js';

/** What a Keras reader found: weighted layers in file order (arrays in the layer's order), the config where saved. */
export interface KerasSource {
  format: string;
  info?: KerasModelInfo;
  layers: Map<string, LazyArray[]>;
  /** The registry name and preprocessing this project recorded in an exported .keras archive's metadata.json. */
  marker?: { model?: unknown; preprocessing?: unknown };
}

/** ImageNet input size of keras.applications and of the classic ResNet-50 file. */
const IMAGENET_SIZE = 224;
/** The course's SIGNS input size; the course topology ends in a 2x2 average pool + flatten, which gives 2048 features from 64..95 pixels. */
const COURSE_SIZE = 64;
/** Blocks per stage of keras.applications' ResNets, by depth. */
const KERAS_DEPTHS: Record<string, string> = { '3,4,6,3': '50', '3,4,23,3': '101', '3,8,36,3': '152' };

function blocksPerStage(names: string[]): number[] {
  return [2, 3, 4, 5].map((stage) => {
    const found = names.map((n) => new RegExp(`^conv${stage}_block(\\d+)_`).exec(n)).filter((m) => m).map((m) => Number(m![1]));
    return found.length ? Math.max(...found) : 0;
  });
}

/** The keras.applications registry name of a file with Keras-style names, or undefined. */
function kerasApplication(layers: Map<string, LazyArray[]>): string | undefined {
  const names = [...layers.keys()];
  const v2 = layers.has('post_bn');
  const depth = KERAS_DEPTHS[blocksPerStage(names).join()];
  if (!depth || !layers.has('conv2_block1_3_conv') || layers.get('conv1_conv')?.[0]?.shape[0] !== 7) return undefined;
  // keras.applications' v1 has biases on every conv, v2 on the last 1x1 of each block (the family's own v1.5 and v2 have none).
  const biased = (layers.get(v2 ? 'conv2_block1_3_conv' : 'conv2_block1_1_conv')?.length ?? 0) === 2;
  return biased ? `keras-resnet${depth}${v2 ? 'v2' : ''}` : undefined;
}

/** The Rescaling layer this project's exporter writes for the Preprocessing layer, read back. */
function exportedPreprocessing(info: KerasModelInfo | undefined): PreprocessingConfig | undefined {
  const layer = info?.layers.find((l) => l.name === 'preprocessing' && l.className === 'Rescaling');
  const { scale, offset } = (layer?.config ?? {}) as { scale?: unknown; offset?: unknown };
  const numbers = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!layer || !numbers(scale) || !numbers(offset)) return undefined;
  return { scale: scale as number[], offset: offset as number[], name: 'preprocessing' };
}

/** The plan for a Keras file; `model` overrides the detected architecture. */
export function planKerasImport(src: KerasSource, source: string, model?: string): ImportPlan {
  const { layers } = src;
  const dense = [...layers.keys()].filter((n) => {
    const arrays = layers.get(n)!;
    return arrays.length === 2 && arrays[0].shape.length === 2;
  });
  if (dense.length > 1) throw new UserError(`${source}: ${dense.length} dense layers (${dense.slice(0, 3).join(', ')}); only a single classifier head can be imported`);
  const head = dense[0];
  const classes = head ? layers.get(head)![0].shape[1] : undefined;
  const course = layers.has('bn_conv1') && layers.has('res2a_branch2a');
  const marked = typeof src.marker?.model === 'string' && modelNames().includes(src.marker.model) ? src.marker.model : undefined;
  const detected = course ? 'resnet50' : marked ?? kerasApplication(layers);
  const name = model ?? detected;
  if (!name) {
    const sample = [...layers.keys()].slice(0, 4).join(', ');
    throw new UserError(`${source}: cannot tell which ResNet this is (layers ${sample}, ...); pass --model NAME (see 'resnet models')`);
  }
  let preprocessing = 'none';
  let customPreprocessing: PreprocessingConfig | undefined;
  if (marked && name === marked) {
    customPreprocessing = exportedPreprocessing(src.info);
    const recorded = typeof src.marker?.preprocessing === 'string' ? src.marker.preprocessing : undefined;
    preprocessing = customPreprocessing ? (recorded && recorded in PREPROCESSING_PRESETS ? recorded : 'custom') : 'none';
    if (customPreprocessing && preprocessing !== 'custom') customPreprocessing.preset = preprocessing;
  } else if (name.startsWith('keras-resnet')) {
    preprocessing = name.endsWith('v2') ? 'tf' : 'caffe';
  } else if (course && head === 'fc1000') {
    preprocessing = 'caffe'; // the classic Keras ImageNet file (caffe-converted weights)
  }
  const weights: LayerWeights = new Map(layers);
  return {
    model: name,
    inputShape: src.info?.inputShape?.length === 3 ? (src.info.inputShape as [number | null, number | null, number | null]) : undefined,
    defaultSize: name === 'resnet50' ? COURSE_SIZE : IMAGENET_SIZE,
    classes,
    preprocessing,
    customPreprocessing,
    weights,
    headLayer: head,
    firstConv: course ? 'conv1' : 'conv1_conv',
    format: src.format,
  };
}
