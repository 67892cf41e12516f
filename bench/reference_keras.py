"""Keras 3 on TensorFlow reference for the ResNet-50 benchmark (shared spec benchmark.md).

The course's ResNet-50 (shared spec resnet.md) in Keras's own layers: the network, weights
(23,600,006 with the batch-norm statistics), input 32x64x64x3 (NHWC, random uniform [0, 1),
random one-hot labels), Adam (lr 1e-3) and categorical cross-entropy of the project's
`resnet bench`; Keras's defaults otherwise (compiled tf.function train and predict steps);
--precision bfloat16 sets Keras's 'mixed_bfloat16' policy.
2 warm-up steps then --steps timed train_on_batch calls; predict_on_batch likewise. Prints one
JSON line with the keys of reference_torch.py.
Usage: .venv-reference/bin/python bench/reference_keras.py [--steps 8] [--batch 32] [--threads N]
(bench/setup-reference.sh makes that environment from this machine's local package mirror.)
"""
import argparse
import json
import os

from protocol import CLASSES, IMAGE_SIZE, LEARNING_RATE, WARMUP_STEPS, images_per_sec


def course_resnet50(keras, classes):
    """resnet.md's ResNet-50 with its layer names: identity and convolutional blocks, four stages."""
    layers = keras.layers
    init = lambda: keras.initializers.GlorotUniform(seed=0)

    def block(x, f, filters, stage, name, stride, projection):
        f1, f2, f3 = filters
        base = f'{stage}{name}'
        y = layers.Conv2D(f1, 1, strides=stride, padding='valid', name=f'res{base}_branch2a', kernel_initializer=init())(x)
        y = layers.Activation('relu')(layers.BatchNormalization(axis=3, name=f'bn{base}_branch2a')(y))
        y = layers.Conv2D(f2, f, padding='same', name=f'res{base}_branch2b', kernel_initializer=init())(y)
        y = layers.Activation('relu')(layers.BatchNormalization(axis=3, name=f'bn{base}_branch2b')(y))
        y = layers.Conv2D(f3, 1, padding='valid', name=f'res{base}_branch2c', kernel_initializer=init())(y)
        y = layers.BatchNormalization(axis=3, name=f'bn{base}_branch2c')(y)
        shortcut = x
        if projection:
            shortcut = layers.Conv2D(f3, 1, strides=stride, padding='valid', name=f'res{base}_branch1',
                                     kernel_initializer=init())(x)
            shortcut = layers.BatchNormalization(axis=3, name=f'bn{base}_branch1')(shortcut)
        return layers.Activation('relu')(layers.Add()([y, shortcut]))

    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    x = layers.ZeroPadding2D((3, 3))(inputs)
    x = layers.Conv2D(64, 7, strides=2, name='conv1', kernel_initializer=init())(x)
    x = layers.Activation('relu')(layers.BatchNormalization(axis=3, name='bn_conv1')(x))
    x = layers.MaxPooling2D(3, strides=2)(x)
    for stage, filters, stride, names in [(2, (64, 64, 256), 1, 'bc'), (3, (128, 128, 512), 2, 'bcd'),
                                          (4, (256, 256, 1024), 2, 'bcdef'), (5, (512, 512, 2048), 2, 'bc')]:
        x = block(x, 3, filters, stage, 'a', stride, projection=True)
        for name in names:
            x = block(x, 3, filters, stage, name, 1, projection=False)
    x = layers.AveragePooling2D(2, name='avg_pool')(x)
    x = layers.Flatten()(x)
    # float32 softmax also under the mixed policy (Keras's advice for the output layer).
    outputs = layers.Dense(classes, activation='softmax', name=f'fc{classes}', kernel_initializer=init(),
                           dtype='float32')(x)
    return keras.Model(inputs, outputs, name='ResNet50')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=8, help='timed steps (>= 8 for the protocol)')
    parser.add_argument('--batch', type=int, default=32, help='images per batch')
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help="TensorFlow's intra- and inter-op threads (default: all cores)")
    parser.add_argument('--jit-compile', action='store_true',
                        help="compile the steps with XLA (Keras's jit_compile=True; off by default here)")
    parser.add_argument('--precision', choices=['float32', 'bfloat16'], default='float32',
                        help="bfloat16: Keras's 'mixed_bfloat16' policy (float32 weights and optimizer)")
    args = parser.parse_args()
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep stdout to the one JSON line
    os.environ['KERAS_BACKEND'] = 'tensorflow'
    import numpy as np
    import tensorflow as tf
    import keras
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.precision == 'bfloat16':
        keras.mixed_precision.set_global_policy('mixed_bfloat16')
    model = course_resnet50(keras, CLASSES)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss='categorical_crossentropy',
                  jit_compile=args.jit_compile)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, args.batch)]
    train_ips, train_cpu = images_per_sec(lambda: model.train_on_batch(x, y), args.batch, WARMUP_STEPS, args.steps)
    predict_ips, _ = images_per_sec(lambda: model.predict_on_batch(x), args.batch, 1, args.steps)
    print(json.dumps({
        'backend': 'keras-tensorflow', 'model': 'course.resnet50', 'params': int(model.count_params()),
        'input': [IMAGE_SIZE, IMAGE_SIZE, 3], 'batch_size': args.batch, 'threads': args.threads,
        'keras_version': keras.__version__, 'tensorflow_version': tf.__version__,
        'jit_compile': bool(model.jit_compile), 'precision': args.precision,
        'train_images_per_sec': round(train_ips, 2), 'predict_images_per_sec': round(predict_ips, 2),
        'train_step_sec': round(args.batch / train_ips, 4), 'train_step_cpu_sec': round(train_cpu, 4),
    }))


if __name__ == '__main__':
    main()
