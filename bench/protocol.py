"""The benchmark protocol the Python references share (reference_torch.py, reference_keras.py):
the workload of the project's `resnet bench` (shared spec benchmark.md) and its timing loop."""
import time

WARMUP_STEPS = 2
LEARNING_RATE = 1e-3  # Adam
IMAGE_SIZE = 64   # pixels, square
CLASSES = 6


def images_per_sec(step, batch, warmup, steps):
    """Runs `step` warmup times untimed, then `steps` times: (images per second, CPU seconds per step)."""
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    cpu_start = time.process_time()
    for _ in range(steps):
        step()
    wall = time.perf_counter() - start
    return batch * steps / wall, (time.process_time() - cpu_start) / steps
