// What every model builder of the registry takes: the input image shape and the number of classes.
export interface ModelOptions {
  /** [height, width, channels] of the input images. */
  inputShape: [number, number, number];
  /** Number of classes of the softmax head. */
  classes: number;
}
