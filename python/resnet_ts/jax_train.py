"""One process of a data-parallel training run on Keras 3 with the JAX backend, as started by
`resnet train --distributed jax` (src/distributed/jax.ts), which writes the job folder:

  job.json             processes, coordinator HOST:PORT, the TF.js model topology and weight
                       manifest, the recipe (src/train/options.ts's fields), file names
  init.bin             the initial weights (float32, manifest order): every process starts equal
  train-images.npy     NHWC pixels of the training split: uint8 (x / 255 = the project's pixels)
                       or, for data not on that grid, float32,
  train-labels.npy     and int32 labels, as the project's own reader decoded them
  probe-*.bin          a few images and the TF.js model's outputs on them (a check of the rebuild)

Each process reads the same arrays and feeds its own slice of every global batch (the k-th of N
equal parts; keras.distribution.DataParallel with auto_shard_dataset=False), so a global batch is
--batch-size images as in one process. Process 0 writes the weights after every epoch
(epoch-K.bin, manifest order) and reports on stdout, one JSON object a line:
  {"event": "start"|"check"|"step"|"epoch"|"done"|"error", ...}
Everything else (JAX's and Keras's logs) goes to stderr.
Usage: python -m resnet_ts.jax_train JOB_DIR --process-id I
"""
import argparse
import json
import os
import sys
import time
import traceback

MAX_MESSAGE = 300  # characters of an error reported as one line


def _event_stream():
    """Events go to the real stdout; the process's fd 1 then points at stderr, so stray prints of
    any library (Python or C) cannot break the event stream."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return lambda kind, **fields: print(json.dumps({"event": kind, **fields}), file=out, flush=True)


def local_slices(order, batch, processes, pid):
    """This process's part of every global batch of `order`: the pid-th of `processes` equal slices
    (a last, smaller batch is cut to a multiple of `processes`). Returns (indices, steps)."""
    import numpy as np

    parts = []
    for start in range(0, len(order), batch):
        group = order[start : start + batch]
        m = len(group) // processes
        if m == 0:
            break
        parts.append(group[pid * m : (pid + 1) * m])
    return np.concatenate(parts), len(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", help="job folder written by resnet train --distributed jax")
    parser.add_argument("--process-id", type=int, required=True)
    args = parser.parse_args()
    emit = _event_stream()
    try:
        run(args.job, args.process_id, emit)
    except BaseException as error:  # noqa: BLE001 - reported as one line, the trace to stderr
        traceback.print_exc()
        message = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
        message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..." 
        emit("error", message=message)
        sys.exit(1)


def run(job_dir, pid, emit):
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    path = lambda name: os.path.join(job_dir, name)
    processes, r = job["processes"], job["recipe"]
    os.environ["KERAS_BACKEND"] = "jax"
    import jax

    if processes > 1:
        # CPU collectives between processes (the default CPU client has none).
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    import keras
    import numpy as np

    from resnet_ts import recipe
    from resnet_ts.tfjs_model import build_keras_model, get_weights, set_weights

    started = time.time()
    keras.utils.set_random_seed(r["seed"])
    if processes > 1:
        keras.distribution.initialize(job["coordinator"], processes, pid)
    emit("start", process=pid, processes=jax.process_count(), devices=len(jax.devices()), seconds=time.time() - started)

    manifest = job["weights"]
    init = np.fromfile(path(job["init"]), dtype="<f4")
    images = np.load(path(job["train"]["images"]), mmap_mode="r")
    labels = np.load(path(job["train"]["labels"]))
    classes = job["train"]["classes"]

    if "probe" in job:
        # The rebuilt Keras model must compute what the TF.js model computes (same weights, inference).
        # Every process does this, so that all reach their first collective together: gloo gives up
        # on a peer that is 30 s late to it.
        check = build_keras_model(keras, job["topology"])
        set_weights(check, manifest, init)
        probe = job["probe"]
        x = np.fromfile(path(probe["images"]), dtype="<f4").reshape(probe["shape"])
        expected = np.fromfile(path(probe["outputs"]), dtype="<f4").reshape(x.shape[0], -1)
        got = np.asarray(check.predict_on_batch(x))
        if pid == 0:
            emit("check", images=int(x.shape[0]), max_abs_diff=float(np.max(np.abs(got - expected))))
        del check

    if processes > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False))
    # The same random state on every process, whatever drew from it before: variables are created
    # replicated, and JAX insists that their first values agree everywhere.
    keras.utils.set_random_seed(r["seed"])
    model = build_keras_model(keras, job["topology"], recipe.l2_coefficient(r))
    set_weights(model, manifest, init)

    batch = r["batch_size"]
    local_batch = batch // processes
    n = labels.shape[0]
    _, steps = local_slices(np.arange(n), batch, processes, pid)
    optimizer = recipe.make_optimizer(keras, r, recipe.make_schedule(keras, r, steps))
    model.compile(optimizer=optimizer, loss=recipe.make_loss(keras, r), metrics=["accuracy"])
    smooth = r["label_smoothing"]
    report_every = max(1, -(-steps // 10))

    class Steps(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            if pid == 0 and (step + 1) % report_every == 0 and step + 1 < steps:
                emit("step", step=step + 1, steps=steps, loss=float(logs["loss"]), accuracy=float(logs["accuracy"]))

    for epoch in range(r["epochs"]):
        prepared = time.time()
        order = np.random.default_rng([r["seed"], epoch]).permutation(n)
        mine, _ = local_slices(order, batch, processes, pid)
        x = images[np.sort(mine)][np.argsort(np.argsort(mine))]
        x = x.astype(np.float32) / np.float32(255) if x.dtype == np.uint8 else x.astype(np.float32)
        if r["augment"]:
            x = recipe.augment(x, r["augment"], np.random.default_rng([r["seed"], epoch, pid, 1]))
        y = np.eye(classes, dtype=np.float32)[labels[mine]]
        emit("epoch_start", process=pid, epoch=epoch + 1, epochs=r["epochs"], steps=steps)
        fitted = time.time()
        history = model.fit(x, y, batch_size=local_batch, epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0, callbacks=[Steps()])
        done = time.time()
        if pid == 0:
            weights = f"epoch-{epoch + 1}.bin"
            tmp = path(weights + ".tmp")
            get_weights(model, manifest).astype("<f4").tofile(tmp)
            os.replace(tmp, path(weights))
            emit("epoch", epoch=epoch + 1, loss=float(history.history["loss"][-1]), accuracy=float(history.history["accuracy"][-1]),
                 lr=recipe.learning_rate_at(r, epoch, steps - 1, steps), images=int(len(mine) * processes), steps=steps,
                 seconds=done - prepared, train_seconds=done - fitted, weights=weights, label_smoothing=smooth)
    emit("done", process=pid, seconds=time.time() - started)


if __name__ == "__main__":
    main()
