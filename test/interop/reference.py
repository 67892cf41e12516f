"""The real frameworks' side of test/interop/frameworks.test.ts: runs a list of jobs from a JSON file.

Jobs (each writes raw little-endian float32 files):
  keras-files  out, size, classes, images  keras.applications ResNet50 and ResNet50V2 at random weights
               (batch-norm statistics randomised, head scaled so the softmax is not saturated), each saved
               as .keras, legacy .h5 (model) and legacy .h5 (weights only, as keras.applications ships
               them), with the images x and Keras's predictions on them (preprocess_input applied).
  torchvision  out, size, classes, images  torchvision resnet18 and resnet50 the same way, as .safetensors
               state dicts, with PyTorch's eval-mode softmax on ImageNet-normalised images.
  keras-load   file, x, shape, out         keras.saving.load_model(file, safe_mode=True).predict(x)
  onnx-run     file, x, shape, out         onnx.checker.check_model(full_check) + onnxruntime on x
Keras runs on TensorFlow with oneDNN's custom operations off (they crash with SIGFPE on some CPUs).
"""
import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
import numpy as np  # noqa: E402


def tame_head(kernel, features):
    """Scales a head kernel so that the logits' spread is about 2 (softmax far from one-hot)."""
    return kernel * 2.0 / features.std() / kernel.std() / np.sqrt(features.shape[1])


def keras_files(job):
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format
    rng = np.random.default_rng(0)
    size, out = job['size'], job['out']
    x = rng.uniform(0, 1, (job['images'], size, size, 3)).astype('float32')
    for name, build, preprocess in [
        ('resnet50', keras.applications.ResNet50, keras.applications.resnet.preprocess_input),
        ('resnet50v2', keras.applications.ResNet50V2, keras.applications.resnet_v2.preprocess_input),
    ]:
        keras.utils.set_random_seed(1)
        m = build(weights=None, input_shape=(size, size, 3), classes=job['classes'])
        for layer in m.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                n = layer.weights[0].shape[0]
                layer.set_weights([rng.uniform(0.5, 1, n), rng.uniform(-0.1, 0.1, n), rng.uniform(-0.1, 0.1, n), rng.uniform(0.5, 1.5, n)])
        inputs = preprocess(x * 255.0)
        features = keras.Model(m.input, m.layers[-2].output)(inputs).numpy()
        kernel, bias = m.layers[-1].get_weights()
        m.layers[-1].set_weights([tame_head(kernel, features), bias])
        m.predict(inputs, verbose=0).astype('float32').tofile(f'{out}/{name}-p.bin')
        m.save(f'{out}/{name}.keras')
        m.save(f'{out}/{name}.h5')
        with h5py.File(f'{out}/{name}-weights.h5', 'w') as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, m)
    x.tofile(f'{out}/keras-x.bin')


def torchvision_files(job):
    import torch
    import torchvision
    from safetensors.torch import save_file
    torch.manual_seed(0)
    size, out = job['size'], job['out']
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = torch.rand(job['images'], 3, size, size)
    for name in ['resnet18', 'resnet50']:
        m = getattr(torchvision.models, name)(num_classes=job['classes'])
        for module in m.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.data.uniform_(0.5, 1.0)
                module.bias.data.uniform_(-0.1, 0.1)
        m.eval()
        with torch.no_grad():
            normalised = (x - mean) / std
            features = torch.nn.Sequential(*list(m.children())[:-1])(normalised).flatten(1).numpy()
            m.fc.weight.data = torch.from_numpy(tame_head(m.fc.weight.data.numpy(), features)).float()
            p = torch.softmax(m(normalised), 1)
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, f'{out}/{name}.safetensors')
        p.numpy().astype('float32').tofile(f'{out}/{name}-p.bin')
    x.permute(0, 2, 3, 1).numpy().astype('float32').tofile(f'{out}/torch-x.bin')


def keras_load(job):
    import keras
    x = np.fromfile(job['x'], dtype='float32').reshape(job['shape'])
    model = keras.saving.load_model(job['file'], safe_mode=True)
    model.predict(x, verbose=0).astype('float32').tofile(job['out'])


def onnx_run(job):
    import onnx
    import onnxruntime
    onnx.checker.check_model(onnx.load(job['file']), full_check=True)
    x = np.fromfile(job['x'], dtype='float32').reshape(job['shape'])
    session = onnxruntime.InferenceSession(job['file'], providers=['CPUExecutionProvider'])
    session.run(None, {'input': x})[0].astype('float32').tofile(job['out'])


JOBS = {'keras-files': keras_files, 'torchvision': torchvision_files, 'keras-load': keras_load, 'onnx-run': onnx_run}

if __name__ == '__main__':
    with open(sys.argv[1]) as f:
        for job in json.load(f):
            JOBS[job['kind']](job)
            print('done', job['kind'], job.get('file', job.get('out')), flush=True)
