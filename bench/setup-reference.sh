#!/usr/bin/env bash
# Makes the Python environments of the reference benchmarks (bench/reference_keras.py,
# bench/side-by-side.sh) and of the interop tests against the real frameworks
# (test/interop/frameworks.test.ts, which .ci/run requires), from this machine's local package mirror
# (pip's file:// indexes; PIP_INDEX_URL to use another) and Debian's packages; nothing else is fetched.
#   .venv-reference/    Keras 3.15 on TensorFlow 2.21 (CPU), JAX, onnx, onnxruntime, safetensors, h5py
#                       (and torch 2.13 CPU where /opt/wheels holds its wheel, with Pillow: the PyTorch
#                       side of bench/cifar10.sh decodes with it);
#   .venv-torchvision/  Debian's python3-torch 1.13 + python3-torchvision 0.14 (the mirror's torchvision
#                       wheels are CUDA builds), seen through --system-site-packages, plus safetensors
#                       (an abi3 wheel, installed without dependencies so Debian's numpy stays).
# Idempotent and quiet: an environment that already imports everything is left as it is.
# Usage: bench/setup-reference.sh   (env: PYTHON=python3.11, the interpreter the wheels are built for)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
index=${PIP_INDEX_URL:-file:///opt/pypi/simple}
# (pip notes each package the second index lacks; those notes are dropped.)
pip_install() { "$1" -m pip install --quiet --disable-pip-version-check --index-url "$index" --extra-index-url file:///opt/pypi-more/simple "${@:2}" 2> >(grep -v 'is neither a file nor a directory' >&2); }
has() { [ -x "$1" ] && "$1" -c "import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))" "${@:2}" 2>/dev/null; }
apt_install() {
  [ "$(id -u)" = 0 ] || { echo "setup-reference: not root, cannot apt-get install $*" >&2; return 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

# 1. Keras, TensorFlow, JAX, ONNX.
if ! has .venv-reference/bin/python keras tensorflow jax onnx onnxruntime safetensors h5py; then
  [ -x .venv-reference/bin/python ] || "$python" -m venv .venv-reference 2>/dev/null || { apt_install python3-venv && "$python" -m venv .venv-reference; }
  pip_install .venv-reference/bin/python tensorflow-cpu==2.21.0 keras==3.15.1 'jax[cpu]==0.10.2' onnx==1.23.1 onnxruntime==1.30.0 safetensors==0.8.0 h5py
fi
torch_wheel=$(ls /opt/wheels/torch-2.13.0+cpu-*.whl 2>/dev/null | head -1 || true)
if [ -n "$torch_wheel" ] && ! has .venv-reference/bin/python torch PIL; then pip_install .venv-reference/bin/python "$torch_wheel" pillow; fi

# 2. torchvision (Debian's CPU build) with safetensors.
if ! has .venv-torchvision/bin/python torch torchvision safetensors; then
  /usr/bin/python3 -c 'import torchvision' 2>/dev/null || apt_install python3-torchvision python3-venv
  [ -x .venv-torchvision/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv-torchvision
  pip_install .venv-torchvision/bin/python --no-deps safetensors==0.8.0
fi
versions() { "$1" -c 'import importlib.metadata as m, sys; print(" ".join(f"{p} {m.version(p)}" for p in sys.argv[1:]))' "${@:2}"; }
echo "reference environments ready: .venv-reference ($(versions .venv-reference/bin/python keras tensorflow-cpu jax onnxruntime)), .venv-torchvision ($(versions .venv-torchvision/bin/python torch torchvision safetensors))"
