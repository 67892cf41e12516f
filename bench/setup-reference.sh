#!/usr/bin/env bash
# Makes .venv-reference/: Keras 3.15 on TensorFlow 2.21 (CPU), issue 4's Python reference, for
# bench/reference_keras.py and bench/side-by-side.sh. The wheels come from this machine's local
# package mirror (pip's configured file:// indexes, PIP_INDEX_URL to use another); nothing is
# fetched from the internet. Not needed by the project itself, its tests or CI.
# Usage: bench/setup-reference.sh   (env: PYTHON=python3.11, the interpreter the wheels are built for)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
index=${PIP_INDEX_URL:-file:///opt/pypi/simple}
"$python" -m venv .venv-reference
.venv-reference/bin/pip install --quiet --index-url "$index" --extra-index-url file:///opt/pypi-more/simple \
  tensorflow-cpu==2.21.0 keras==3.15.1
.venv-reference/bin/python -c 'import tensorflow as tf, keras; print("reference ready: tensorflow", tf.__version__, "keras", keras.__version__)'
