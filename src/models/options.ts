// What every model builder of the registry takes: the input image shape and the number of classes
// (and optionally the input normalisation that imported weights expect).
import type { PreprocessingConfig } from './preprocessing.js';

export interface ModelOptions {
  /** [height, width, channels] of the input images. */
  inputShape: [number, number, number];
  /** Number of classes of the softmax head. */
  classes: number;
  /** A per-channel affine first layer (src/models/preprocessing.ts); default none: [0, 1] pixels go straight in. */
  preprocessing?: PreprocessingConfig;
  /** 'zeros' skips the random draws when the weights are about to be loaded (a ResNet-50 builds ~10x faster); default 'random'. */
  initialWeights?: 'random' | 'zeros';
}
