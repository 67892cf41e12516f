// Every model the CLI can build, by name. Each entry is one line over a builder.
import type * as tf from '../tf.js';
import { UserError } from '../errors.js';
import { resnet50 } from './resnet50.js';
import { buildFamilyModel, familyNames } from './resnet.js';
import { KERAS_APPLICATIONS, buildKerasApplication } from './keras-applications.js';
import './preprocessing.js'; // registers the Preprocessing layer of imported models, needed to load them
import { tinyResnet } from './tiny.js';
import { resnet9, resnetAirbench } from './fast.js';
import type { ModelOptions } from './options.js';

export type { ModelOptions };

export type ModelBuilder = (options: ModelOptions) => tf.LayersModel;

const models = new Map<string, ModelBuilder>([
  ['resnet50', (o) => resnet50(o)], // the course's ResNet-50 (conv biases; ../shared/spec/resnet.md)
  ...familyNames().map((name): [string, ModelBuilder] => [name, (o) => buildFamilyModel(name, o)]), // src/models/resnet.ts
  ...Object.keys(KERAS_APPLICATIONS).map((name): [string, ModelBuilder] => [name, (o) => buildKerasApplication(name, o)]), // keras.applications' ResNets (src/models/keras-applications.ts)
  ['tiny-resnet', tinyResnet], // one residual block: fast tests and smoke runs
  ['resnet9', resnet9], // Page's ResNet-9 for fast CIFAR-10 training (src/models/fast.ts)
  ['resnet-airbench', resnetAirbench], // airbench94's network with explicit residual units (src/models/fast.ts)
]);

/** The input side, in pixels, of the models made for one size: the course ResNet-50 takes the
 *  64x64 SIGNS photos. Others (the CIFAR and ImageNet families, tiny-resnet) take any size. */
const INPUT_SIZES: Record<string, number> = { resnet50: 64 };

/** The square input size `name` is made for, or undefined when it takes any size. */
export function modelInputSize(name: string): number | undefined {
  return Object.hasOwn(INPUT_SIZES, name) ? INPUT_SIZES[name] : undefined;
}

/** Adds a model name (used by the model family modules). */
export function registerModel(name: string, builder: ModelBuilder): void {
  models.set(name, builder);
}

export function modelNames(): string[] {
  return [...models.keys()];
}

export function buildModel(name: string, options: ModelOptions): tf.LayersModel {
  const builder = models.get(name);
  if (!builder) throw new UserError(`unknown model '${name}' (known: ${modelNames().join(', ')})`);
  const model = builder(options);
  // Too small an input shrinks some layer's output to zero pixels (e.g. the course ResNet-50 at 28x28).
  const empty = model.layers.find((l) => (l.outputShape as (number | null)[]).some((d) => d === 0 || (d !== null && d < 0)));
  if (empty) {
    model.dispose();
    throw new UserError(`input ${options.inputShape.join('x')} is too small for model '${name}': layer '${empty.name}' has no pixels left`);
  }
  return model;
}
