"""The timing loop of the Python references (reference_torch.py, reference_keras.py)."""
import time


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
