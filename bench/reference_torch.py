#!/usr/bin/python3
"""PyTorch reference for the ResNet-50 benchmark (shared spec benchmark.md).

The course's ResNet-50 (shared spec resnet.md; --model course, the default: the same layers and
work per image as the project's resnet50) or torchvision's resnet50 (--model torchvision: the
same 23.5 M weights, but the stride in the 3x3 convolutions and a padded max pool, so 8% more
FLOPs per image at 64x64); 6 classes, NCHW input 32x3x64x64 (random uniform [0, 1), random
labels), Adam (lr 1e-3), cross-entropy; 2 warm-up steps then --steps timed training steps;
prediction in eval mode under no_grad likewise. Prints one JSON line.
Usage: /usr/bin/python3 bench/reference_torch.py [--steps 8] [--batch 32] [--threads N]
(Debian's python3-torch; a pyenv python3 lacks torch.)
"""
import argparse
import json
import os

import torch

from protocol import CLASSES, IMAGE_SIZE, LEARNING_RATE, WARMUP_STEPS, images_per_sec

BN_EPSILON = 1e-3  # Keras's BatchNormalization defaults (resnet.md)
BN_MOMENTUM = 0.01  # PyTorch's momentum is 1 - Keras's 0.99


def batch_norm(channels):
    return torch.nn.BatchNorm2d(channels, eps=BN_EPSILON, momentum=BN_MOMENTUM)


class CourseBlock(torch.nn.Module):
    """resnet.md's identity block (projection=False) or convolutional block (stride on the first 1x1)."""

    def __init__(self, in_channels, filters, stride, projection):
        super().__init__()
        f1, f2, f3 = filters
        relu = torch.nn.ReLU
        self.main = torch.nn.Sequential(
            torch.nn.Conv2d(in_channels, f1, 1, stride), batch_norm(f1), relu(),
            torch.nn.Conv2d(f1, f2, 3, 1, padding=1), batch_norm(f2), relu(),  # 'same'
            torch.nn.Conv2d(f2, f3, 1), batch_norm(f3))
        self.shortcut = (torch.nn.Sequential(torch.nn.Conv2d(in_channels, f3, 1, stride), batch_norm(f3))
                         if projection else torch.nn.Identity())

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


def course_resnet50(classes):
    """resnet.md's ResNet-50: zero padding 3, 7x7/2 conv, 3x3/2 max pool, four stages, 2x2 average pool."""
    layers = [torch.nn.ZeroPad2d(3), torch.nn.Conv2d(3, 64, 7, 2), batch_norm(64), torch.nn.ReLU(),
              torch.nn.MaxPool2d(3, 2)]
    in_channels = 64
    for filters, stride, blocks in [((64, 64, 256), 1, 3), ((128, 128, 512), 2, 4),
                                    ((256, 256, 1024), 2, 6), ((512, 512, 2048), 2, 3)]:
        for i in range(blocks):
            layers.append(CourseBlock(in_channels, filters, stride if i == 0 else 1, projection=i == 0))
            in_channels = filters[2]
    layers += [torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(2048, classes)]
    return torch.nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=8, help='timed steps (>= 8 for the protocol)')
    parser.add_argument('--batch', type=int, default=32, help='images per batch')
    parser.add_argument('--threads', type=int, default=os.cpu_count(), help='torch threads (default: all cores)')
    parser.add_argument('--memory-format', choices=['channels_first', 'channels_last'], default='channels_first',
                        help="tensor layout: PyTorch's default NCHW, or NHWC (channels_last, as the native engine uses)")
    parser.add_argument('--model', choices=['course', 'torchvision'], default='course',
                        help="the course's ResNet-50 (the project's layers), or torchvision's resnet50")
    parser.add_argument('--precision', choices=['float32', 'bfloat16'], default='float32',
                        help='bfloat16: mixed precision with torch.autocast (float32 weights and optimizer)')
    args = parser.parse_args()
    threads = args.threads
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if args.model == 'course':
        model = course_resnet50(CLASSES)
    else:
        import torchvision  # only this model needs it (bench/export_onnx.py imports this file without it)
        model = torchvision.models.resnet50(num_classes=CLASSES)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(args.batch, 3, IMAGE_SIZE, IMAGE_SIZE)
    if args.memory_format == 'channels_last':
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    y = torch.randint(0, CLASSES, (args.batch,))

    autocast = lambda: torch.autocast(device_type='cpu', dtype=torch.bfloat16, enabled=args.precision == 'bfloat16')

    def train_step():
        optimizer.zero_grad()
        with autocast():
            loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    def predict_step():
        with torch.no_grad(), autocast():
            model(x)

    model.train()
    train_ips, train_cpu = images_per_sec(train_step, args.batch, WARMUP_STEPS, args.steps)
    model.eval()
    predict_ips, _ = images_per_sec(predict_step, args.batch, 1, args.steps)
    print(json.dumps({
        'backend': 'torch', 'model': 'course.resnet50' if args.model == 'course' else 'torchvision.resnet50',
        'params': sum(p.numel() for p in model.parameters()), 'input': [3, IMAGE_SIZE, IMAGE_SIZE],
        'batch_size': args.batch, 'threads': threads, 'torch_version': torch.__version__,
        'memory_format': args.memory_format, 'precision': args.precision,
        'train_images_per_sec': round(train_ips, 2), 'predict_images_per_sec': round(predict_ips, 2),
        'train_step_sec': round(args.batch / train_ips, 4), 'train_step_cpu_sec': round(train_cpu, 4),
    }))


if __name__ == '__main__':
    main()
