// Training recipes by name: a recipe is a documented set of defaults for the optimiser, the schedule,
// the regularisation and the length of a run (like timm's or keras-hub's presets). `resnet train
// --recipe NAME` starts from it, and every explicit flag overrides it. Adding a recipe is one entry
// of RECIPES. Measured accuracies: docs/training.md ("Recipes") and docs/benchmarks.md.
import type { AugmentSettings, TrainOptions } from './options.js';

/** What a recipe may set: the knobs of the optimisation, not the data, the model or the engine. */
export type RecipeSettings = Pick<
  TrainOptions,
  'epochs' | 'batchSize' | 'lr' | 'optimizer' | 'momentum' | 'weightDecay' | 'schedule' | 'warmupEpochs' | 'labelSmoothing' | 'clipNorm' | 'earlyStopping' | 'augment'
>;

export interface Recipe {
  /** One line for `--help` and the docs. */
  summary: string;
  settings: RecipeSettings;
}

/** Mild augmentation for photos whose meaning a mirror image would change (digits, hand signs):
 *  shifts of up to 8% of the side, rotations of up to 10 degrees, brightness +-0.1, contrast +-10%. */
const MILD_AUGMENT: AugmentSettings = { shift: 0.08, rotation: 10, brightness: 0.1, contrast: 0.1, flip: false };

export const RECIPES = {
  /** The Deep Learning course's recipe (../shared/spec/resnet.md), exactly as the first build ran it. */
  course: {
    summary: 'the course: Adam 1e-3 constant, batch 32, 10 epochs, no augmentation or regularisation',
    settings: {
      epochs: 10,
      batchSize: 32,
      lr: 1e-3,
      optimizer: 'adam',
      momentum: 0.9,
      weightDecay: 0,
      schedule: 'constant',
      warmupEpochs: 0,
      labelSmoothing: 0,
      clipNorm: 0,
      earlyStopping: 0,
      augment: null,
    },
  },
  /** Regularised for small data sets: 0.99 on SIGNS where the course recipe gets about 0.9. Without the
   *  gradient clipping the training loss rose above chance level for epochs at a time (docs/training.md). */
  strong: {
    summary: 'AdamW 1e-3 (weight decay 0.05), 1 warm-up epoch then cosine, label smoothing 0.1, mild augmentation, gradients clipped to norm 1, batch 32, 30 epochs',
    settings: {
      epochs: 30,
      batchSize: 32,
      lr: 1e-3,
      optimizer: 'adamw',
      momentum: 0.9,
      weightDecay: 0.05,
      schedule: 'cosine',
      warmupEpochs: 1,
      labelSmoothing: 0.1,
      clipNorm: 1,
      earlyStopping: 0,
      augment: MILD_AUGMENT,
    },
  },
} satisfies Record<string, Recipe>;

export type RecipeName = keyof typeof RECIPES;

/** The recipe a run uses when none is named: the best model a new user gets in reasonable time
 *  (docs/training.md, "Recipes", has the measurements behind the choice: SIGNS and CIFAR-10). */
export const DEFAULT_RECIPE: RecipeName = 'strong';

export function recipeNames(): string[] {
  return Object.keys(RECIPES);
}

/** The recipe called `name`, or undefined. */
export function findRecipe(name: string): Recipe | undefined {
  return Object.hasOwn(RECIPES, name) ? RECIPES[name as RecipeName] : undefined;
}
