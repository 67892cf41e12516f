// What an importer makes of a file before any model exists: which architecture to build, at what input
// size and with how many classes, which preprocessing its weights expect, and the weights keyed by
// the target model's layer names (not read yet). src/interop/import.ts turns a plan into a model.
import type { LayerWeights } from './assign.js';
import type { PreprocessingConfig } from '../models/preprocessing.js';

export interface ImportPlan {
  /** Registry name of the architecture (src/models/registry.ts). */
  model: string;
  /** [height, width, channels] from the file where it says (null: any size). */
  inputShape?: [number | null, number | null, number | null];
  /** Square input size, in pixels, when neither the file nor the caller gives one. */
  defaultSize: number;
  /** Classes of the file's head; undefined when it has none (a backbone saved without its top). */
  classes: number | undefined;
  /** Preset name of the input normalisation the weights expect ('none', 'caffe', 'tf', 'torch', or 'custom'). */
  preprocessing: string;
  /** The layer config where `preprocessing` is 'custom' (a project export read back). */
  customPreprocessing?: PreprocessingConfig;
  /** Target layer name -> its weights; the head under `headLayer`. */
  weights: LayerWeights;
  /** The target layer name of the classifier head in `weights` (absent when the file has no head). */
  headLayer?: string;
  /** The first convolution's target layer name (its input channels are reversed for BGR-trained weights). */
  firstConv: string;
  /** What kind of file this was, for people. */
  format: string;
}
