#!/usr/bin/env python3
"""Checks that bench/cifar10_torch.py's networks are the project's: loads a `resnet train` run's
last checkpoint (RUN/last/model.json + weights.bin, TensorFlow.js's format) into the PyTorch twin
(HWIO kernels -> OIHW, dense kernels transposed, batch-norm statistics as buffers), evaluates the
test folder with it in float32, and prints the accuracy beside the one the project recorded for
that epoch in RUN/history.jsonl (the same evaluation: same images, TTA as the run's config). Equal
up to a few images (float rounding near ties, or bfloat16 in the project's run) means same layers.
Usage: .venv-reference/bin/python bench/cifar10_twin_check.py RUN TEST_FOLDER
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from cifar10_torch import ResNetAirbench, build_model, evaluate, load_folder  # noqa: E402


def tfjs_weights(folder):
    with open(os.path.join(folder, 'model.json')) as f:
        model = json.load(f)
    out = {}
    for group in model['weightsManifest']:
        data = b''.join(open(os.path.join(folder, p), 'rb').read() for p in group['paths'])
        offset = 0
        for w in group['weights']:
            count = int(np.prod(w['shape'])) if w['shape'] else 1
            out[w['name']] = torch.from_numpy(np.frombuffer(data, dtype=np.float32, count=count, offset=offset).reshape(w['shape']).copy())
            offset += 4 * count
    return out


def torch_name(name):
    """Project layer/weight name -> the twin's state_dict key."""
    layer, weight = name.rsplit('/', 1)
    bn = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean', 'moving_variance': 'running_var'}
    conv = {'kernel': 'weight', 'bias': 'bias'}
    if layer == 'whiten_conv':
        return f'whiten.{conv[weight]}'
    if layer == 'logits':
        return 'fc.weight'
    if layer == 'predictions':
        return f'fc.{conv[weight]}'
    if layer.startswith('stage'):  # stage{s}_conv, stage{s}_bn, stage{s}_res1_conv, stage{s}_res1_bn
        s, rest = layer[len('stage'):].split('_', 1)
        part = {'conv': 'conv', 'bn': 'bn', 'res1_conv': 'res_conv', 'res1_bn': 'res_bn'}[rest]
        return f'groups.{int(s) - 1}.{part}.{(bn if part.endswith("bn") else conv)[weight]}'
    if layer.startswith('conv1_'):  # the CIFAR ResNet's stem
        return f'{layer[len("conv1_"):].replace("conv", "conv1").replace("bn", "bn1")}.{(bn if layer.endswith("bn") else conv)[weight]}'
    # conv{stage+2}_block{b}_{1|2}_{conv|bn}: blocks are numbered through the stages in the twin.
    stage, block, unit, kind = layer.split('_')
    return (stage, int(block[len('block'):]), f'{kind}{unit}', (bn if kind == 'bn' else conv)[weight])


def main():
    run, test_folder = sys.argv[1], sys.argv[2]
    with open(os.path.join(run, 'config.json')) as f:
        config = json.load(f)
    options = config['options']
    weights = tfjs_weights(os.path.join(run, 'last'))
    model = build_model(options['model'], len(config['data']['classNames']))
    state = model.state_dict()
    depth_blocks = None if isinstance(model, ResNetAirbench) else (int(options['model'][len('resnet'):]) - 2) // 6
    loaded = set()
    for name, value in weights.items():
        key = torch_name(name)
        if isinstance(key, tuple):  # CIFAR ResNet block
            stage, block, part, attr = key
            key = f'blocks.{(int(stage[len("conv"):]) - 2) * depth_blocks + block - 1}.{part}.{attr}'
        if value.dim() == 4:
            value = value.permute(3, 2, 0, 1)  # HWIO -> OIHW
        elif value.dim() == 2:
            value = value.T  # [in, out] -> [out, in]
        assert state[key].shape == value.shape, f'{name} -> {key}: {tuple(value.shape)} vs {tuple(state[key].shape)}'
        state[key].copy_(value)
        loaded.add(key)
    missing = [k for k, v in state.items() if k not in loaded and v.is_floating_point()]
    assert not missing, f'not loaded: {missing}'
    images, labels, _ = load_folder(test_folder, os.cpu_count())
    with open(os.path.join(run, 'last', 'state.json')) as f:
        epoch = json.load(f)['epoch']
    with open(os.path.join(run, 'history.jsonl')) as f:
        recorded = [json.loads(line) for line in f][epoch - 1]
    tta = options.get('tta') or 'none'
    loss, accuracy = evaluate(model, images, labels, 500, tta, lambda: torch.autocast('cpu', enabled=False), torch.contiguous_format)
    print(json.dumps({'run': run, 'model': options['model'], 'epoch': epoch, 'tta': tta, 'precision': options.get('precision'),
                      'torch_test_accuracy': accuracy, 'project_test_accuracy': recorded['test_accuracy'],
                      'torch_test_loss': round(loss, 5), 'project_test_loss': round(recorded['test_loss'], 5),
                      'differing_images': round(abs(accuracy - recorded['test_accuracy']) * len(images))}))


if __name__ == '__main__':
    main()
