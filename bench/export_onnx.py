#!/usr/bin/python3
"""Exports the PyTorch reference models to ONNX for bench/inference.sh (onnxruntime-node's side).

--model course: the course's ResNet-50 of bench/reference_torch.py (the project's resnet50 layers:
conv biases, Keras's batch-norm epsilon 1e-3), 64x64x3, 6 classes, softmax output.
--model torchvision: torchvision's resnet50 (v1.5, the project's resnet50-imagenet), 224x224x3,
1000 classes, softmax output.
Random weights (timing does not depend on them); eval mode; fixed batch size (--batch); the input
is NHWC pixels, as the project's models take them, transposed to NCHW inside the graph (one
Transpose node, which onnxruntime runs too). torch.onnx.export's TorchScript exporter, opset 17.
Prints one JSON line. Usage: python bench/export_onnx.py --model course --batch 32 --out FILE
(any Python with torch; torchvision too for --model torchvision).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class NhwcSoftmax(torch.nn.Module):
    """The model on NHWC input, with a softmax output: what `resnet predict` computes."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return torch.softmax(self.model(x.permute(0, 3, 1, 2)), dim=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', choices=['course', 'torchvision'], required=True)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.model == 'course':
        from reference_torch import course_resnet50
        model, size = course_resnet50(6), 64
    else:
        import torchvision
        model, size = torchvision.models.resnet50(), 224
    model.eval()
    wrapped = NhwcSoftmax(model).eval()
    example = torch.rand(args.batch, size, size, 3)
    export_args = dict(input_names=['input'], output_names=['probabilities'], opset_version=args.opset, do_constant_folding=True)
    try:
        torch.onnx.export(wrapped, (example,), args.out, dynamo=False, **export_args)
    except TypeError:  # torch < 2.5 has no dynamo argument
        torch.onnx.export(wrapped, (example,), args.out, **export_args)
    print(json.dumps({'model': args.model, 'file': args.out, 'batch': args.batch, 'input': [size, size, 3],
                      'opset': args.opset, 'torch_version': torch.__version__,
                      'params': sum(p.numel() for p in model.parameters())}))


if __name__ == '__main__':
    main()
