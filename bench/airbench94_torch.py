#!/usr/bin/env python3
"""airbench94 as published (Keller Jordan, 2024), in PyTorch on this machine's CPU, on the shared CIFAR-10 JPEGs.

What it answers: how far the record-holding 10-epoch recipe itself gets on these files, so that the
project's fast recipe (bench/cifar10.sh fast) is judged against what the data allow, not against a
figure measured on the original pixels. Written from the recipe's description (the airbench paper,
arXiv 2404.00498, and its hyper-parameter table), not from its code:
  - data: the folders decoded as bench/cifar10_torch.py does; pixels / 255, standardised with
    CIFAR-10's channel means and deviations;
  - network (not residual): a 2x2 whitening convolution (24 filters: the eigenvectors of the 2x2
    patch covariance of 5,000 training images / sqrt(eigenvalue + 5e-4), and their negatives; kernel
    frozen, bias trained for the first 3 epochs), GELU, then three groups of conv3x3 - maxpool2 - BN -
    GELU - conv3x3 - BN - GELU with widths 64, 256, 256 (each conv's first filters start as the identity,
    batch norm with a frozen scale of 1, eps 1e-12, momentum 0.6 in Keras's sense), max pool 3,
    linear 256 -> 10 without bias, logits x 1/9;
  - training: batch 1024 (last partial batch dropped), 9.9 epochs (476 steps), Nesterov SGD momentum
    0.85, summed label-smoothed (0.2) cross-entropy, lr 11.5 and decoupled weight decay 0.0153 per
    1,024 examples (PyTorch lr 11.5 / (1024 * (1 + 1 / (1 - 0.85))), weight decay of that divided by lr),
    batch-norm biases at 64x the learning rate; the multiplier rises linearly 0.2 -> 1 over the first
    23% of steps and falls to 0.07; lookahead every 5 steps with decay 0.95^5 (step / total)^3, the
    average taken at the end; alternating flips (a random half of the images mirrored in even epochs,
    the other half in odd ones) and 2-pixel translations with reflected borders; bfloat16 autocast
    (airbench uses float16 on a GPU);
  - test: level-2 TTA (logits averaged over the image, its mirror, and both at one-pixel diagonal
    shifts with reflected borders), once, after training.
Prints one JSON line per epoch (history.jsonl in --out) and a final one with the test accuracy.
Usage: .venv-reference/bin/python bench/airbench94_torch.py --data DIR/train --eval-data DIR/test --out DIR
"""
import time

START = time.time()

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cifar10_torch import Lookahead, ShiftBatchNorm, dirac_conv, load_folder  # noqa: E402 (the twin's pieces)

MEAN = torch.tensor([0.4914, 0.4822, 0.4465])
STD = torch.tensor([0.2470, 0.2435, 0.2616])
HYP = dict(epochs=9.9, batch=1024, lr=11.5, momentum=0.85, weight_decay=0.0153, bias_scaler=64.0,
           label_smoothing=0.2, whiten_bias_epochs=3, widths=(64, 256, 256),
           scaling=1 / 9, translate=2)


class Group(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        # ShiftBatchNorm: eps 1e-12, PyTorch momentum 0.4 (airbench's 0.6), the scale frozen at 1.
        self.conv1, self.norm1 = dirac_conv(cin, cout), ShiftBatchNorm(cout)
        self.conv2, self.norm2 = dirac_conv(cout, cout), ShiftBatchNorm(cout)

    def forward(self, x):
        x = F.gelu(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.norm2(self.conv2(x)))


class Airbench94(nn.Module):
    def __init__(self):
        super().__init__()
        w = HYP['widths']
        self.whiten = nn.Conv2d(3, 24, 2, bias=True)
        self.whiten.weight.requires_grad = False
        nn.init.zeros_(self.whiten.bias)
        self.groups = nn.Sequential(Group(24, w[0]), Group(w[0], w[1]), Group(w[1], w[2]))
        self.head = nn.Linear(w[2], 10, bias=False)

    def forward(self, x):
        x = self.groups(F.gelu(self.whiten(x)))
        return self.head(torch.flatten(F.max_pool2d(x, 3), 1)) * HYP['scaling']


def set_whitening(layer, images, eps=5e-4):
    """Eigenvectors of the (uncentred) 2x2 patch covariance / sqrt(eigenvalue + eps), and their negatives."""
    patches = images.unfold(2, 2, 1).unfold(3, 2, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 12).double()
    values, vectors = torch.linalg.eigh(patches.T @ patches / len(patches))
    values, vectors = values.flip(0), vectors.T.flip(0)  # largest first
    scaled = (vectors / torch.sqrt(values.clamp(min=0) + eps)[:, None]).reshape(12, 3, 2, 2).float()
    with torch.no_grad():
        layer.weight.copy_(torch.cat([scaled, -scaled]))


def tta_logits(model, x):
    mirror = lambda v: 0.5 * (model(v) + model(v.flip(-1)))  # noqa: E731
    padded = F.pad(x, (1,) * 4, mode='reflect')
    h, w = x.shape[2:]
    return 0.5 * mirror(x) + 0.25 * (mirror(padded[:, :, :h, :w]) + mirror(padded[:, :, 2:, 2:]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', required=True)
    p.add_argument('--eval-data', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--epochs', type=float, default=HYP['epochs'])
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--limit', type=int, default=None, help='smoke tests: this many training (a fifth as many test) images')
    a = p.parse_args()
    if not (0 < a.epochs <= 1000):
        raise SystemExit(f'airbench94_torch.py: --epochs must be in (0, 1000], got {a.epochs}')
    for folder in (a.data, a.eval_data):
        if not os.path.isdir(folder):
            raise SystemExit(f'airbench94_torch.py: {folder} is not a folder of class folders')
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    def standardised(folder, limit):
        images, labels, _ = load_folder(folder, a.threads, limit)
        x = ((images.float() / 255 - MEAN) / STD).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        return x, labels

    train_x, train_y = standardised(a.data, a.limit)
    test_x, test_y = standardised(a.eval_data, a.limit and max(1, a.limit // 5))
    batch, pad = min(HYP['batch'], len(train_x)), HYP['translate']
    steps_per_epoch = len(train_x) // batch
    total_steps = math.ceil(a.epochs * steps_per_epoch)

    model = Airbench94()
    set_whitening(model.whiten, train_x[[i * len(train_x) // 5000 for i in range(min(5000, len(train_x)))]])
    model = model.to(memory_format=torch.channels_last)
    kilostep = 1024 * (1 + 1 / (1 - HYP['momentum']))
    lr, wd = HYP['lr'] / kilostep, HYP['weight_decay'] * batch / kilostep
    norm_biases = [q for n, q in model.named_parameters() if 'norm' in n and q.requires_grad]
    others = [q for n, q in model.named_parameters() if 'norm' not in n and q.requires_grad]
    lr_biases = lr * HYP['bias_scaler']
    optimizer = torch.optim.SGD([dict(params=norm_biases, lr=lr_biases, weight_decay=wd / lr_biases, base=lr_biases),
                                 dict(params=others, lr=lr, weight_decay=wd / lr, base=lr)],
                                momentum=HYP['momentum'], nesterov=True)

    def multiplier(step):
        warm = int(0.23 * total_steps)
        if step < warm:
            return 0.2 + 0.8 * step / warm
        return 1.0 + (0.07 - 1.0) * (step - warm) / (total_steps - warm)

    # One average over the whole run (the twin's Lookahead, never restarted): every 5 steps decay
    # 0.95^5 (step / total)^3, the average taken at the end.
    lookahead = Lookahead(model, {'every': 5, 'decay': 0.95, 'power': 3})
    flip_half = torch.rand(len(train_x), generator=gen) < 0.5
    padded = F.pad(train_x, (pad,) * 4, mode='reflect')
    h, w = train_x.shape[2:]
    autocast = lambda: torch.autocast('cpu', dtype=torch.bfloat16)  # noqa: E731
    os.makedirs(a.out, exist_ok=True)
    history = open(os.path.join(a.out, 'history.jsonl'), 'w')
    print(json.dumps({'event': 'ready', 'images': len(train_x), 'test_images': len(test_x), 'steps': total_steps,
                      'elapsed': round(time.time() - START, 3), 'torch': torch.__version__}), flush=True)
    step = 0
    for epoch in range(math.ceil(a.epochs)):
        started = time.time()
        model.whiten.bias.requires_grad = epoch < HYP['whiten_bias_epochs']
        model.train()
        order = torch.randperm(len(train_x), generator=gen)
        loss_sum = correct = seen = 0
        for i in range(steps_per_epoch):
            if step >= total_steps:
                break
            idx = order[i * batch:(i + 1) * batch]
            dy = torch.randint(0, 2 * pad + 1, (len(idx),), generator=gen)
            dx = torch.randint(0, 2 * pad + 1, (len(idx),), generator=gen)
            rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
            cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
            x = padded[idx[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]
            mirror = flip_half[idx] ^ (epoch % 2 == 1)
            x = torch.where(mirror[:, None, None, None], x.flip(-1), x).contiguous(memory_format=torch.channels_last)
            y = train_y[idx]
            for group in optimizer.param_groups:
                group['lr'] = group['base'] * multiplier(step)
            with autocast():
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=HYP['label_smoothing'], reduction='sum')
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            lookahead.after_step(step, total_steps)
            loss_sum += loss.item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(idx)
        if step >= total_steps:
            lookahead.finish()  # the model takes the average
        record = {'epoch': epoch + 1, 'loss': loss_sum / seen, 'accuracy': correct / seen,
                  'seconds': time.time() - started, 'elapsed': time.time() - START}
        history.write(json.dumps(record) + '\n')
        history.flush()
        print(json.dumps(record), flush=True)
    model.eval()
    correct = 0
    with torch.no_grad(), autocast():
        for s in range(0, len(test_x), 2000):
            correct += (tta_logits(model, test_x[s:s + 2000]).float().argmax(1) == test_y[s:s + 2000]).sum().item()
    result = {'event': 'done', 'test_accuracy': correct / len(test_x), 'steps': step, 'epochs': a.epochs,
              'elapsed': time.time() - START}
    history.write(json.dumps(result) + '\n')
    print(json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
