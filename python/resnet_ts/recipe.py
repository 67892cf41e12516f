"""The project's training recipe (src/train/) on Keras 3: learning-rate schedule, optimizer, loss and
augmentation, each with the same formula as its TypeScript twin.

  schedule     src/train/schedule.ts   warm-up, then constant / cosine / step (x0.1 at 50%, 75%)
  optimizer    src/train/optimizer.ts  adam (eps 1e-7), sgd with momentum, adamw (decoupled decay
                                       lr * wd on kernels only); L2 on kernels for adam/sgd
  loss         src/train/loss.ts       categorical cross-entropy with label smoothing
  augment      src/data/augment.ts     flip, rotation, shift (bilinear, edge pixels fill), contrast
                                       about each channel's mean, brightness, clip to [0, 1]
Differences, all small: the random draws (numpy's generator, not the project's mulberry32), the
L2 term's place (Keras adds it to the loss, so it is clipped with the gradient and shows in the loss).
"""
import math

import numpy as np

STEP_MILESTONES = (0.5, 0.75)
STEP_FACTOR = 0.1


def learning_rate_at(r, epoch, step, steps_per_epoch):
    """learningRateAt of src/train/schedule.ts, in Python floats (for the history's lr column)."""
    progress = epoch + step / steps_per_epoch
    done = epoch + (step + 1) / steps_per_epoch
    lr, warm, epochs = r["lr"], r["warmup_epochs"], r["epochs"]
    if warm > 0 and progress < warm:
        return lr * min(done, warm) / warm
    span = epochs - warm
    t = (progress - warm) / span if span > 0 else 1.0
    if r["schedule"] == "cosine":
        return 0.5 * lr * (1 + math.cos(math.pi * t))
    if r["schedule"] == "step":
        return lr * STEP_FACTOR ** sum(t >= m for m in STEP_MILESTONES)
    return lr


def make_schedule(keras, r, steps_per_epoch):
    """The same schedule as a Keras LearningRateSchedule of the optimizer's step counter."""
    ops = keras.ops

    class ProjectSchedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = ops.cast(step, "float32")
            progress = step / steps_per_epoch
            done = (step + 1.0) / steps_per_epoch
            lr, warm, epochs = r["lr"], float(r["warmup_epochs"]), float(r["epochs"])
            span = epochs - warm
            t = (progress - warm) / span if span > 0 else ops.ones_like(progress)
            if r["schedule"] == "cosine":
                after = 0.5 * lr * (1.0 + ops.cos(math.pi * t))
            elif r["schedule"] == "step":
                passed = sum(ops.cast(t >= m, "float32") for m in STEP_MILESTONES)
                after = lr * ops.power(STEP_FACTOR, passed)
            else:
                after = lr * ops.ones_like(progress)
            if warm > 0:
                return ops.where(progress < warm, lr * ops.minimum(done, warm) / warm, after)
            return after

        def get_config(self):
            return {}

    return ProjectSchedule()


def make_optimizer(keras, r, schedule):
    clip = r["clip_norm"] or None
    if r["optimizer"] == "sgd":
        return keras.optimizers.SGD(schedule, momentum=r["momentum"], global_clipnorm=clip)
    if r["optimizer"] == "adam":
        return keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.999, epsilon=1e-7, global_clipnorm=clip)
    if r["optimizer"] == "adamw":
        opt = keras.optimizers.AdamW(schedule, weight_decay=r["weight_decay"], beta_1=0.9, beta_2=0.999, epsilon=1e-7, global_clipnorm=clip)
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return opt
    raise ValueError(f"unknown optimizer {r['optimizer']}")


def l2_coefficient(r):
    """adam / sgd with weight decay wd add wd * w to each kernel's gradient: an L2 loss of wd / 2 * |w|^2."""
    return r["weight_decay"] / 2 if r["optimizer"] != "adamw" and r["weight_decay"] > 0 else 0.0


def make_loss(keras, r):
    return keras.losses.CategoricalCrossentropy(label_smoothing=r["label_smoothing"])


def augment(x, a, rng):
    """Augments float32 NHWC pixels in [0, 1] (a copy), one random draw per image."""
    n, h, w, c = x.shape
    sym = lambda m: (2 * rng.random(n) - 1) * m
    flip = (rng.random(n) < 0.5) & bool(a.get("flip", False))
    angle = sym(a.get("rotation", 0)) * math.pi / 180
    shift_x, shift_y = sym(a.get("shift", 0) * w), sym(a.get("shift", 0) * h)
    brightness = sym(a.get("brightness", 0))
    contrast = 1 + sym(a.get("contrast", 0))
    # Inverse map (src/data/augment.ts inverseAffine): input = F(R(-angle)(output - centre - shift)) + centre.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    cos, sin, f = np.cos(angle), np.sin(angle), np.where(flip, -1.0, 1.0)
    ux, uy = -cx - shift_x, -cy - shift_y
    m = [f * cos, f * sin, f * (cos * ux + sin * uy) + cx, -sin, cos, -sin * ux + cos * uy + cy]
    m = [v[:, None, None] for v in m]
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    in_x = np.clip(m[0] * gx + m[1] * gy + m[2], 0, w - 1)
    in_y = np.clip(m[3] * gx + m[4] * gy + m[5], 0, h - 1)
    x0, y0 = np.floor(in_x).astype(np.int64), np.floor(in_y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (in_x - x0)[..., None], (in_y - y0)[..., None]
    i = np.arange(n)[:, None, None]
    top = x[i, y0, x0] * (1 - fx) + x[i, y0, x1] * fx
    bottom = x[i, y1, x0] * (1 - fx) + x[i, y1, x1] * fx
    out = top * (1 - fy) + bottom * fy
    means = out.mean(axis=(1, 2), keepdims=True)
    out = (out - means) * contrast[:, None, None, None] + means
    return np.clip(out + brightness[:, None, None, None], 0, 1).astype(np.float32)
