import { UserError } from '../errors.js';

// The in-memory form every data reader produces: images as one NHWC float32 block in [0, 1]
// (pixels / 255) and integer class labels. Readers never create tensors, so nothing here needs freeing.
export interface ImageDataset {
  /** Pixels, NHWC, float32 in [0, 1]; length = n * height * width * channels. */
  images: Float32Array;
  /** Class index of each image, 0 <= label < classNames.length. */
  labels: Int32Array;
  /** [n, height, width, channels]. */
  shape: [number, number, number, number];
  /** Human-readable name of each class, index = label. */
  classNames: string[];
  /** Where the data came from (a path, or "mnist" for the embedded digits). */
  source: string;
}

/** A problem with the user's data: the CLI prints its message as one line and exits non-zero. */
export class DataError extends UserError {
  override name = 'DataError';
}
