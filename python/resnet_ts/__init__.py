"""resnet-ts's optional Python side: the project's models and training recipe on Keras 3 with the
JAX backend, data-parallel over several processes (`resnet train --distributed jax`).

Modules: tfjs_model (a TF.js Layers model description -> a Keras 3 model with the same layer names),
recipe (optimizer, learning-rate schedule, loss, augmentation), jax_train (one training process).
"""
