#!/usr/bin/env bash
# Makes .venv/: the optional Python side of resnet-ts (`resnet train --distributed jax`): Keras 3 and
# JAX (CPU) with numpy. The wheels come from pip's index: this machine's local mirror by default
# (PIP_INDEX_URL to use another). Idempotent: an environment that already imports them is kept.
# Usage: python/setup.sh   (env: PYTHON=python3, the interpreter to build the environment on)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
index=${PIP_INDEX_URL:-file:///opt/pypi/simple}
export KERAS_BACKEND=jax  # (under its default backend keras imports TensorFlow)
if .venv/bin/python -c 'import keras, jax, numpy' 2>/dev/null; then exit 0; fi
"$python" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --index-url "$index" --extra-index-url file:///opt/pypi-more/simple \
  keras==3.15.1 jax==0.10.2 numpy
.venv/bin/python -c 'import jax, keras; print("python side ready: keras", keras.__version__, "jax", jax.__version__)'
