#!/usr/bin/env python3
"""PyTorch twin of `resnet train` for the CIFAR-10 recipes of bench/cifar10.sh.

It takes the subset of `resnet train`'s flags that the recipes use, with the same meanings, and does
what the project's trainer does with them, in plain PyTorch (no torchvision):
  - data: the same image folders, listed in the same order (class folders and files sorted by code
    point), decoded with Pillow (libjpeg-turbo; bit-identical to sharp's pixels on CIFAR-10's JPEGs)
    on as many threads as there are cores, held in memory; pixels / 255, NHWC;
  - models: resnet20 (He et al. 2015, CIFAR ResNet with option-A shortcuts, He-normal init) and
    resnet-airbench (src/models/fast.ts: whitening stem set from the data's patch covariance, three
    conv-pool-BN-ReLU groups each with a residual unit, shift-only BN, logits x 1/9, PyTorch's
    default init), the same layers as the project's;
  - training: seeded shuffles, zero-padded random crops with whole-pixel offsets and flips, label
    smoothing, SGD with (Nesterov) momentum and L2 weight decay on conv/dense kernels only, the
    project's learning-rate schedules (src/train/schedule.ts) set every step, optional lookahead
    averaging (src/train/lookahead.ts), optional bfloat16 autocast of the forward pass;
  - after every epoch: the --eval-data folder evaluated in eval mode (optionally with flip TTA:
    mean of the softmax of each image and its mirror image), and one line appended to
    OUT/history.jsonl with the trainer's keys (epoch, loss, accuracy, test_loss, test_accuracy, lr,
    seconds, eval_seconds, elapsed). `elapsed` counts from $BENCH_T0 (seconds since the epoch, set by the bench
    script just before starting this process) or else from this script's first line.
Usage: .venv-reference/bin/python bench/cifar10_torch.py --data DIR --eval-data DIR --model resnet20 ...
"""
import time

START = time.time()  # before the heavy imports, whose time counts too

import argparse
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

T0 = float(os.environ.get('BENCH_T0') or START)
EPS = 1e-7  # probabilities are clipped to [EPS, 1 - EPS] in the loss, as Keras (src/train/loss.ts)


def elapsed():
    return time.time() - T0


# ----------------------------------------------------------------------------- data

def load_folder(root, threads, limit=None):
    """Images of ROOT/<class>/<file> in code-point order: (uint8 [n, h, w, 3], int64 labels, class
    names); with `limit`, that many spread evenly (smoke tests)."""
    classes = sorted(e for e in os.listdir(root) if not e.startswith('.') and os.path.isdir(os.path.join(root, e)))
    files, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(root, name)
        for f in sorted(e for e in os.listdir(folder) if not e.startswith('.')):
            files.append(os.path.join(folder, f))
            labels.append(label)
    if limit is not None and limit < len(files):
        keep = [i * len(files) // limit for i in range(limit)]
        files, labels = [files[i] for i in keep], [labels[i] for i in keep]

    def decode(path):
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert('RGB'))
        except (OSError, ValueError) as error:  # Pillow's damaged, truncated or unknown images
            raise SystemExit(f'{path}: not a readable image ({error})')

    with ThreadPoolExecutor(threads) as pool:
        images = np.stack(list(pool.map(decode, files, chunksize=256)))
    return torch.from_numpy(images), torch.tensor(labels), classes


def pad_crop_flip(x, padding, flip, generator):
    """src/data/crop.ts on a float batch [b, h, w, c]: zero padding, whole-pixel random windows, mirrors."""
    b, h, w, _ = x.shape
    if padding > 0:
        padded = F.pad(x, (0, 0, padding, padding, padding, padding))
        top = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        left = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        rows = (top[:, None] + torch.arange(h))[:, :, None]
        cols = (left[:, None] + torch.arange(w))[:, None, :]
        x = padded[torch.arange(b)[:, None, None], rows, cols]
    if flip:
        mirror = torch.rand(b, generator=generator) < 0.5
        x = torch.where(mirror[:, None, None, None], x.flip(2), x)
    return x


# ----------------------------------------------------------------------------- models

class ShortcutA(nn.Module):
    """He et al.'s option A: every stride-th pixel, new channels zero (split evenly before/after)."""

    def __init__(self, stride, channels_in, channels_out):
        super().__init__()
        self.stride, self.before = stride, (channels_out - channels_in) // 2
        self.after = channels_out - channels_in - self.before

    def forward(self, x):
        return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.before, self.after))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)  # eps 1e-5, momentum 0.1: the project's (Keras momentum 0.9)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = ShortcutA(stride, cin, cout) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, depth, classes):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for s, width in enumerate([16, 32, 64]):
            for b in range(n):
                blocks.append(BasicBlock(cin, width, 2 if s > 0 and b == 0 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)
        for m in self.modules():  # He-normal fan-in, as src/models/resnet.ts; dense bias 0
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='relu')
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ShiftBatchNorm(nn.BatchNorm2d):
    """airbench's batch norm: a learned shift, the scale frozen at 1."""

    def __init__(self, channels):
        super().__init__(channels, eps=1e-12, momentum=0.4)  # Keras momentum 0.6
        self.weight.requires_grad = False


def dirac_conv(cin, cout):
    """A bias-free 3x3 'same' convolution whose first min(cin, cout) filters start as the identity
    (src/models/fast.ts diracStart; PyTorch's dirac_), the others at PyTorch's default."""
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:min(cin, cout)])
    return conv


class AirbenchGroup(nn.Module):
    def __init__(self, cin, width):
        super().__init__()
        self.conv = dirac_conv(cin, width)
        self.bn = ShiftBatchNorm(width)
        self.res_conv = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.res_bn = ShiftBatchNorm(width)

    def forward(self, x):
        x = F.relu(self.bn(F.max_pool2d(self.conv(x), 2)))
        return x + F.relu(self.res_bn(self.res_conv(x)))


class ResNetAirbench(nn.Module):
    WHITEN_KERNEL = 2

    def __init__(self, classes):
        super().__init__()
        k = self.WHITEN_KERNEL
        self.whiten = nn.Conv2d(3, 2 * 3 * k * k, k, bias=True)
        self.whiten.weight.requires_grad = False
        self.whiten.bias.requires_grad = False
        widths = [64, 256, 256]
        self.groups = nn.Sequential(*[AirbenchGroup(cin, w) for cin, w in zip([2 * 3 * k * k] + widths[:-1], widths)])
        self.fc = nn.Linear(widths[-1], classes, bias=False)

    def forward(self, x):
        x = self.groups(F.relu(self.whiten(x)))
        return self.fc(torch.flatten(F.adaptive_max_pool2d(x, 1), 1)) / 9


def whitening_weights(images, k, count=5000, eps=5e-4):
    """src/models/whitening.ts: standardised k x k patches of `count` images spread evenly over the
    set, their covariance's eigenvectors / sqrt(eigenvalue + eps), each and its negative; the
    standardisation folded into kernel and bias. Returns (OIHW kernel, bias) for [0, 1] pixels."""
    n = min(len(images), count)
    sample = images[[i * len(images) // n for i in range(n)]].double() / 255  # [n, h, w, c]
    mean, std = sample.mean((0, 1, 2)), sample.std((0, 1, 2), unbiased=False)
    x = (sample - mean) / std
    c = x.shape[3]
    patches = x.unfold(1, k, 1).unfold(2, k, 1)  # [n, h', w', c, k, k]
    patches = patches.permute(0, 1, 2, 4, 5, 3).reshape(-1, k * k * c)  # HWC order, as the HWIO kernel
    centre = patches.mean(0)
    covariance = (patches - centre).T @ (patches - centre) / len(patches)
    values, vectors = torch.linalg.eigh(covariance)
    order = torch.argsort(values, descending=True)
    filters = vectors[:, order].T / torch.sqrt(values[order].clamp(min=0) + eps)[:, None]  # [d, k*k*c]
    per_channel_std = std.repeat(k * k)
    w = filters / per_channel_std  # on [0, 1] pixels
    offset = w @ (centre * per_channel_std + mean.repeat(k * k))
    kernel = torch.cat([w, -w]).reshape(2 * k * k * c, k, k, c).permute(0, 3, 1, 2)  # OIHW
    return kernel.float(), torch.cat([-offset, offset]).float()


def build_model(name, classes):
    if name == 'resnet-airbench':
        return ResNetAirbench(classes)
    if name.startswith('resnet') and name[6:].isdigit() and (int(name[6:]) - 2) % 6 == 0:
        return CifarResNet(int(name[6:]), classes)
    raise SystemExit(f'cifar10_torch.py: unknown model {name!r}')


# ----------------------------------------------------------------------------- training

def learning_rate_at(a, epoch, step, steps_per_epoch):
    """src/train/schedule.ts's learningRateAt."""
    progress = epoch + step / steps_per_epoch
    done = epoch + (step + 1) / steps_per_epoch
    if a.warmup_epochs > 0 and progress < a.warmup_epochs:
        return a.lr * min(done, a.warmup_epochs) / a.warmup_epochs
    span = a.epochs - a.warmup_epochs
    t = (progress - a.warmup_epochs) / span if span > 0 else 1
    if a.schedule == 'constant':
        return a.lr
    if a.schedule == 'cosine':
        return 0.5 * a.lr * (1 + math.cos(math.pi * t))
    if a.schedule == 'step':
        return a.lr * 0.1 ** sum(t >= m for m in (0.5, 0.75))
    if a.schedule == 'linear':
        return a.lr * (1 - t)
    raise SystemExit(f'cifar10_torch.py: unknown schedule {a.schedule!r}')


class Lookahead:
    """src/train/lookahead.ts: every `every` steps average = rho average + (1 - rho) weights, weights = average."""

    def __init__(self, model, s):
        self.model, self.s = model, s
        self.average = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    def after_step(self, step, total):
        if step % self.s['every'] != 0:
            return
        rho = self.s['decay'] ** self.s['every'] * (step / total) ** self.s['power']
        with torch.no_grad():
            for k, v in self.model.state_dict().items():
                if k in self.average:
                    self.average[k].mul_(rho).add_(v, alpha=1 - rho)
                    v.copy_(self.average[k])

    def finish(self):
        with torch.no_grad():
            for k, v in self.model.state_dict().items():
                if k in self.average:
                    v.copy_(self.average[k])


def to_model_layout(x, memory_format):
    return x.permute(0, 3, 1, 2).contiguous(memory_format=memory_format)


def evaluate(model, images, labels, batch, tta, autocast, memory_format):
    model.eval()
    loss_sum, correct = 0.0, 0

    def predict(view):
        return F.softmax(model(to_model_layout(view, memory_format)).float(), 1)

    def with_mirror(view):
        return 0.5 * (predict(view) + predict(view.flip(2)))

    with torch.no_grad(), autocast():
        for start in range(0, len(images), batch):
            x = images[start:start + batch].float() / 255
            if tta == 'none':
                probs = predict(x)
            elif tta == 'flip':
                probs = with_mirror(x)
            else:  # flip-translate: src/train/evaluate.ts (reflect-padded one-pixel diagonal shifts, NHWC)
                padded = F.pad(x.permute(0, 3, 1, 2), (1, 1, 1, 1), mode='reflect').permute(0, 2, 3, 1)
                h, w = x.shape[1], x.shape[2]
                shifted = with_mirror(padded[:, :h, :w]) + with_mirror(padded[:, 2:h + 2, 2:w + 2])
                probs = 0.5 * with_mirror(x) + 0.25 * shifted
            y = labels[start:start + batch]
            loss_sum -= torch.log(probs[torch.arange(len(y)), y].clamp(EPS, 1 - EPS)).sum().item()
            correct += (probs.argmax(1) == y).sum().item()
    return loss_sum / len(images), correct / len(images)


def parse_settings(value, known, defaults):
    settings = dict(defaults)
    for part in filter(None, (p.strip() for p in value.split(','))):
        key, _, raw = part.partition('=')
        if key not in known:
            raise SystemExit(f'cifar10_torch.py: unknown setting {key!r}')
        settings[key] = known[key](raw) if raw else True
    return settings


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', required=True)
    p.add_argument('--eval-data', required=True)
    p.add_argument('--model', required=True)
    p.add_argument('--epochs', type=int, required=True)
    p.add_argument('--batch-size', type=int, required=True)
    p.add_argument('--lr', type=float, required=True)
    p.add_argument('--optimizer', choices=['sgd', 'nesterov'], required=True)
    p.add_argument('--momentum', type=float, default=0.9)
    p.add_argument('--weight-decay', type=float, default=0)
    p.add_argument('--bias-lr-scale', type=float, default=1, help='learning-rate multiplier of the undecayed parameters')
    p.add_argument('--schedule', default='constant')
    p.add_argument('--warmup-epochs', type=float, default=0)
    p.add_argument('--label-smoothing', type=float, default=0)
    p.add_argument('--augment', default='', help='crop=N,flip (other settings must be 0)')
    p.add_argument('--lookahead', nargs='?', const='', default=None)
    p.add_argument('--tta', choices=['none', 'flip', 'flip-translate'], default='none')
    p.add_argument('--eval-every', type=int, default=1, help='evaluate after every N-th epoch and after the last')
    p.add_argument('--precision', choices=['float32', 'bfloat16'], default='float32')
    p.add_argument('--val-split', type=float, default=0)
    p.add_argument('--bn-recalibration', type=int, default=0)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--backend', default='torch', help='ignored (the trainer\'s engine flag)')
    p.add_argument('--out', required=True)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--memory-format', choices=['channels_last', 'channels_first'], default='channels_last')
    p.add_argument('--limit', type=int, default=None, help='smoke tests: this many training (and a fifth as many test) images')
    p.add_argument('--stop-at', type=float, default=None, help='stop after the first epoch whose test accuracy reaches this')
    a = p.parse_args()
    if a.val_split != 0 or a.bn_recalibration != 0:
        raise SystemExit('cifar10_torch.py: the recipes run with --val-split 0 --bn-recalibration 0')
    if a.eval_every < 1:
        raise SystemExit(f'cifar10_torch.py: --eval-every must be a positive whole number of epochs, got {a.eval_every}')
    aug = parse_settings(a.augment, {'crop': int, 'flip': lambda v: v in ('', 'true', '1'), 'shift': float, 'rotation': float,
                                     'brightness': float, 'contrast': float}, {'crop': 0, 'flip': False})
    if any(aug.get(k, 0) for k in ('shift', 'rotation', 'brightness', 'contrast')):
        raise SystemExit('cifar10_torch.py: only crop and flip augmentations are implemented')
    lookahead = None if a.lookahead is None else parse_settings(
        a.lookahead, {'every': int, 'decay': float, 'power': float, 'start': int}, {'every': 5, 'decay': 0.95, 'power': 3, 'start': 3})

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    generator = torch.Generator().manual_seed(a.seed)
    memory_format = torch.channels_last if a.memory_format == 'channels_last' else torch.contiguous_format
    images, labels, classes = load_folder(a.data, a.threads, a.limit)
    test_images, test_labels, test_classes = load_folder(a.eval_data, a.threads, a.limit and max(1, a.limit // 5))
    assert test_classes == classes, 'the test folder has other classes'
    model = build_model(a.model, len(classes))
    if isinstance(model, ResNetAirbench):
        kernel, bias = whitening_weights(images, ResNetAirbench.WHITEN_KERNEL)
        with torch.no_grad():
            model.whiten.weight.copy_(kernel)
            model.whiten.bias.copy_(bias)
    model = model.to(memory_format=memory_format)
    decayed = [q for n, q in model.named_parameters() if q.requires_grad and q.dim() > 1]  # conv and dense kernels
    others = [q for n, q in model.named_parameters() if q.requires_grad and q.dim() <= 1]
    groups = [{'params': decayed, 'weight_decay': a.weight_decay, 'scale': 1}, {'params': others, 'weight_decay': 0, 'scale': a.bias_lr_scale}]
    optimizer = torch.optim.SGD(groups, lr=a.lr, momentum=a.momentum, nesterov=a.optimizer == 'nesterov')
    autocast = lambda: torch.autocast('cpu', dtype=torch.bfloat16, enabled=a.precision == 'bfloat16')
    os.makedirs(a.out, exist_ok=True)
    n = len(images)
    steps_per_epoch = math.ceil(n / a.batch_size)
    eval_batch = max(a.batch_size, 64)
    print(json.dumps({'event': 'ready', 'images': n, 'test_images': len(test_images), 'elapsed': round(elapsed(), 3),
                      'torch': torch.__version__, 'threads': a.threads, 'model': a.model,
                      'parameters': sum(q.numel() for q in model.parameters() if q.requires_grad)}), flush=True)
    history = open(os.path.join(a.out, 'history.jsonl'), 'w')
    for epoch in range(a.epochs):
        started = time.time()
        model.train()
        order = torch.randperm(n, generator=generator)
        la = Lookahead(model, lookahead) if lookahead and epoch >= lookahead['start'] else None
        loss_sum, correct_sum = 0.0, 0
        for step in range(steps_per_epoch):
            idx = order[step * a.batch_size:(step + 1) * a.batch_size]
            x = pad_crop_flip(images[idx].float() / 255, aug['crop'], aug['flip'], generator)
            y = labels[idx]
            lr = learning_rate_at(a, epoch, step, steps_per_epoch)
            for group in optimizer.param_groups:
                group['lr'] = lr * group['scale']
            with autocast():
                logits = model(to_model_layout(x, memory_format))
            loss = F.cross_entropy(logits.float(), y, label_smoothing=a.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value):
                raise SystemExit(f'training diverged at epoch {epoch + 1}, step {step + 1}')
            loss_sum += value * len(idx)
            correct_sum += (logits.argmax(1) == y).sum().item()
            if la:
                la.after_step(epoch * steps_per_epoch + step + 1, a.epochs * steps_per_epoch)
        if la:
            la.finish()
        eval_started = time.time()
        record = {'epoch': epoch + 1, 'loss': loss_sum / n, 'accuracy': correct_sum / n, 'val_loss': None, 'val_accuracy': None, 'lr': lr}
        test_accuracy = None
        if (epoch + 1) % a.eval_every == 0 or epoch + 1 == a.epochs:
            test_loss, test_accuracy = evaluate(model, test_images, test_labels, eval_batch, a.tta, autocast, memory_format)
            record.update(test_loss=test_loss, test_accuracy=test_accuracy)
        record.update(seconds=time.time() - started, eval_seconds=time.time() - eval_started, elapsed=elapsed())
        history.write(json.dumps(record) + '\n')
        history.flush()
        print(json.dumps(record), flush=True)
        if a.stop_at is not None and test_accuracy is not None and test_accuracy >= a.stop_at:
            break
    history.close()


if __name__ == '__main__':
    main()
