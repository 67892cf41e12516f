import { UserError } from '../errors.js';

// The in-memory form every data reader produces: images as one NHWC block of 8-bit grey levels
// (a quarter of the memory of float32; batches are converted to pixels / 255 in [0, 1] as they are
// assembled) and integer class labels. Readers never create tensors, so nothing here needs freeing.
export interface ImageDataset {
  /** Pixels, NHWC, 8-bit levels 0..255 (the model sees level / 255); length = n * height * width * channels. */
  images: Uint8Array;
  /** Class index of each image, 0 <= label < classNames.length. */
  labels: Int32Array;
  /** [n, height, width, channels]. */
  shape: [number, number, number, number];
  /** Human-readable name of each class, index = label. */
  classNames: string[];
  /** Where the data came from (a path, or "mnist" for the embedded digits). */
  source: string;
}

/**
 * How an image of another size is brought to the model's [height, width]: 'squash' stretches it
 * (aspect ratio not kept; Keras's image_dataset_from_directory default), 'crop' scales it to cover
 * the size and cuts the overflow equally from both sides (crop_to_aspect_ratio), 'pad' scales it to
 * fit inside and fills the rest with black (pad_to_aspect_ratio).
 */
export const RESIZE_MODES = ['squash', 'crop', 'pad'] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

/** A problem with the user's data: the CLI prints its message as one line and exits non-zero. */
export class DataError extends UserError {
  override name = 'DataError';
}
