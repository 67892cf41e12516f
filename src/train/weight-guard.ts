// TensorFlow.js builds a loaded model's layers, and so allocates every weight the topology describes,
// before it compares them with the weight files. A hostile model.json (a Dense layer of 10^9 units
// beside a small weights.bin) would allocate gigabytes first. `withWeightBudget` holds the build to
// what the (already checked) weight specs describe: no weight larger than the largest spec, and no
// more values in all than the specs hold. It wraps Layer.addWeight, the one place tfjs-layers creates
// weights, while `build` runs; nothing else changes. Browser-safe.
import * as tf from '../tf.js';
import { UserError } from '../errors.js';

interface Budget {
  left: number;
  largest: number;
  where: string;
}

type AddWeight = (this: tf.layers.Layer, name: string, shape: (number | null)[], ...rest: unknown[]) => tf.LayerVariable;

let active: Budget | null = null;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const proto = tf.layers.Layer.prototype as unknown as { addWeight: AddWeight };
  const original = proto.addWeight;
  proto.addWeight = function (this: tf.layers.Layer, name, shape, ...rest) {
    if (active) {
      const size = shape.reduce<number>((n, d) => n * (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0 ? d : NaN), 1);
      if (!(size <= active.largest) || !(size <= active.left)) {
        throw new UserError(
          `${active.where}: layer '${this.name}' describes a weight '${name}' of shape [${shape.join(', ')}], which the weight files do not hold (damaged or mismatched model.json)`,
        );
      }
      active.left -= size;
    }
    return original.call(this, name, shape, ...rest);
  };
}

/**
 * Runs `build` (which deserialises a model) allowing its layers to create at most `totalElements`
 * weight values, none larger than `largestElements`. Loads run one at a time: the budget is global
 * while `build` runs.
 */
export async function withWeightBudget<T>(where: string, totalElements: number, largestElements: number, build: () => Promise<T>): Promise<T> {
  install();
  const previous = active;
  active = { left: totalElements, largest: largestElements, where };
  try {
    return await build();
  } finally {
    active = previous;
  }
}
