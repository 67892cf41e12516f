#!/usr/bin/python3
"""PyTorch reference for the ResNet-50 benchmark (shared spec benchmark.md).

torchvision resnet50(num_classes=6), NCHW input 32x3x64x64 (random uniform [0, 1), random labels),
Adam (lr 1e-3), cross-entropy; 2 warm-up steps then --steps timed training steps; prediction in
eval mode under no_grad likewise. Prints one JSON line.
Usage: /usr/bin/python3 bench/reference_torch.py [--steps 8] [--batch 32] [--threads N]
(Debian's python3-torch; a pyenv python3 lacks torch.)
"""
import argparse
import json
import os
import time

import torch
import torchvision

WARMUP_STEPS = 2
LEARNING_RATE = 1e-3
IMAGE_SIZE = 64   # pixels, square
CLASSES = 6


def images_per_sec(step, batch, warmup, steps):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    cpu_start = time.process_time()
    for _ in range(steps):
        step()
    wall = time.perf_counter() - start
    return batch * steps / wall, (time.process_time() - cpu_start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=8, help='timed steps (>= 8 for the protocol)')
    parser.add_argument('--batch', type=int, default=32, help='images per batch')
    parser.add_argument('--threads', type=int, default=os.cpu_count(), help='torch threads (default: all cores)')
    parser.add_argument('--memory-format', choices=['channels_first', 'channels_last'], default='channels_first',
                        help="tensor layout: PyTorch's default NCHW, or NHWC (channels_last, as the native engine uses)")
    parser.add_argument('--precision', choices=['float32', 'bfloat16'], default='float32',
                        help='bfloat16: mixed precision with torch.autocast (float32 weights and optimizer)')
    args = parser.parse_args()
    threads = args.threads
    torch.set_num_threads(threads)
    torch.manual_seed(0)
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
        'backend': 'torch', 'model': 'torchvision.resnet50', 'input': [3, IMAGE_SIZE, IMAGE_SIZE],
        'batch_size': args.batch, 'threads': threads, 'torch_version': torch.__version__,
        'memory_format': args.memory_format, 'precision': args.precision,
        'train_images_per_sec': round(train_ips, 2), 'predict_images_per_sec': round(predict_ips, 2),
        'train_step_sec': round(args.batch / train_ips, 4), 'train_step_cpu_sec': round(train_cpu, 4),
    }))


if __name__ == '__main__':
    main()
