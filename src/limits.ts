// Upper bounds on every size the project reads from a file or a flag, checked before anything of
// that size is allocated (docs/data.md, "What is checked"). Each bound is far above any real use of
// the project and far below what would exhaust a machine; raise one here if a real data set needs it.
// Browser-safe: plain numbers, no imports.

/** Largest image side, in pixels, a model input or `--image-size` may have (ImageNet models use 224-600). */
export const MAX_IMAGE_SIDE = 2048;

/** Largest number of classes (ImageNet-21k has 21,843). */
export const MAX_CLASSES = 100_000;

/** Longest class name, in UTF-16 code units (file names stop at 255 bytes on most systems). */
export const MAX_CLASS_NAME_LENGTH = 1024;

/** Largest model.json, in bytes (ResNet-152's topology is about 0.5 MB). */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/** Largest total size of a model's weights, in bytes (ResNet-152 in float32: 240 MB; Wide ResNet-101: 510 MB). */
export const MAX_WEIGHT_BYTES = 1024 * 1024 * 1024;

/** Largest number of weight tensors in a model (ResNet-152 has about 930). */
export const MAX_WEIGHT_TENSORS = 100_000;

/** Largest number of layers in a model's topology (ResNet-152 has about 520). */
export const MAX_LAYERS = 20_000;

/** Largest number of weight files a model.json may name. */
export const MAX_WEIGHT_FILES = 10_000;

/** Largest rank of a weight tensor (convolution kernels have 4). */
export const MAX_WEIGHT_RANK = 8;

/** Largest small JSON file of a checkpoint (state.json, optimizer.json, config.json), in bytes. */
export const MAX_STATE_JSON_BYTES = 64 * 1024 * 1024;

/** Largest photo decoded, in pixels (width x height): 134 megapixels, above any camera sold today. A
 *  16000 x 16000 image (256 megapixels, 768 MB of RGB) is refused before it is decoded. */
export const MAX_INPUT_PIXELS = 2 ** 27;

/** Largest HDF5 dataset read, in bytes: h5wasm holds a whole dataset in its 2 GiB WebAssembly heap,
 *  and copies it out once more. */
export const MAX_HDF5_DATASET_BYTES = 1024 * 1024 * 1024;

/** Expansion allowed for a compressed HDF5 dataset over the file's size (gzip of photos: 1.5-4x). */
export const MAX_HDF5_COMPRESSION_RATIO = 100;

/** Most epochs a run may ask for (a value read from a damaged config.json must not mean "forever"). */
export const MAX_EPOCHS = 1_000_000;

/** Largest CIFAR-style depth (6n+2) of `resnet gradients`: He et al.'s deepest network has 1202 layers. */
export const MAX_STUDY_DEPTH = 1202;

/** The share of the memory this process may use (RAM, cgroup limit or address-space limit, the
 *  smallest) that one data set, one batch's activations or one model's weights may take. */
export const MEMORY_SHARE = 0.75;
