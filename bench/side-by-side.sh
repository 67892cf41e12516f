#!/usr/bin/env bash
# The native engine beside the Python references, in one run, RUNS times (default 3), alternating,
# because the machine is shared and absolute figures move by +-30% (shared spec benchmark.md).
# References: Keras 3 on TensorFlow 2.21 (bench/reference_keras.py, in .venv-reference/, made by
# bench/setup-reference.sh; skipped with a note when absent) and PyTorch 1.13 (Debian's
# python3-torch, bench/reference_torch.py), all running the course's ResNet-50.
# Prints each run's results as JSON lines, then one JSON summary line with the medians and the
# ratios native / reference. Usage: bench/side-by-side.sh   (env: RUNS=3 STEPS=8;
# REFERENCES="keras torch" (either or both); PYTHON=/usr/bin/python3 for torch;
# THREADS=N runs every engine on N threads (RESNET_NATIVE_THREADS, torch --threads, TensorFlow's
# intra/inter-op threads); default all;
# PRECISION=bfloat16 runs all in mixed precision: native --precision, torch.autocast, Keras's
# mixed_bfloat16 policy; default float32;
# TORCH_MEMORY_FORMAT=channels_last gives PyTorch NHWC tensors, like the native engine's; default NCHW;
# TORCH_MODEL=torchvision runs torchvision's resnet50 (8% more FLOPs per image) instead of the
# course's ResNet-50, the project's own layers; default course)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
steps=${STEPS:-8}
python=${PYTHON:-/usr/bin/python3}
threads=${THREADS:-$(nproc)}
precision=${PRECISION:-float32}
memory_format=${TORCH_MEMORY_FORMAT:-channels_first}
torch_model=${TORCH_MODEL:-course}
keras_python=.venv-reference/bin/python
references=""
for reference in ${REFERENCES:-keras torch}; do
  if [ "$reference" = keras ] && [ ! -x "$keras_python" ]; then
    echo "side-by-side: no $keras_python (run bench/setup-reference.sh): Keras/TensorFlow skipped" >&2
    continue
  fi
  references="$references $reference"
done
export RESNET_NATIVE_THREADS=$threads
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

native_bench() {
  # The project's `resnet bench`; the engine's own timing script where the CLI is not built.
  if [ -f dist/src/cli/main.js ] && node dist/src/cli/main.js bench --help >/dev/null 2>&1; then
    node dist/src/cli/main.js bench --backend native --precision "$precision" --steps "$steps" --json
  else
    RESNET_NATIVE_PRECISION=$precision node native/tools/bench.mjs --backend native --steps "$steps"
  fi
}

reference_bench() {
  case "$1" in
    torch) "$python" bench/reference_torch.py --steps "$steps" --threads "$threads" --precision "$precision" \
             --memory-format "$memory_format" --model "$torch_model" ;;
    keras) "$keras_python" bench/reference_keras.py --steps "$steps" --threads "$threads" --precision "$precision" ;;
  esac
}

for i in $(seq 1 "$runs"); do
  native_bench 2>/dev/null | grep '^{' | tail -1 | tee "$out/native.$i.json"
  for reference in $references; do
    reference_bench "$reference" 2>/dev/null | grep '^{' | tail -1 | tee "$out/$reference.$i.json"
  done
done

node --input-type=module - "$out" "$runs" "$references" <<'JS'
import { readFileSync } from 'node:fs';
const [dir, runs, references] = process.argv.slice(2);
const read = (name) => Array.from({ length: Number(runs) }, (_, i) => JSON.parse(readFileSync(`${dir}/${name}.${i + 1}.json`, 'utf8')));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const round = (x) => Math.round(x * 1000) / 1000;
const native = read('native');
const summary = {
  runs: Number(runs), threads: Number(process.env.RESNET_NATIVE_THREADS), precision: native[0].precision ?? 'float32',
  native_train_images_per_sec: median(native.map((r) => r.train_images_per_sec)),
  native_predict_images_per_sec: median(native.map((r) => r.predict_images_per_sec)),
};
for (const name of references.trim().split(/\s+/).filter(Boolean)) {
  const ref = read(name);
  const ratios = (key) => native.map((n, i) => n[key] / ref[i][key]);
  Object.assign(summary, {
    [`${name}_model`]: ref[0].model,
    ...(name === 'torch' ? { torch_memory_format: ref[0].memory_format } : {}),
    [`${name}_train_images_per_sec`]: median(ref.map((r) => r.train_images_per_sec)),
    [`${name}_predict_images_per_sec`]: median(ref.map((r) => r.predict_images_per_sec)),
    [`train_ratio_native_over_${name}`]: round(median(ratios('train_images_per_sec'))),
    [`predict_ratio_native_over_${name}`]: round(median(ratios('predict_images_per_sec'))),
    [`${name}_train_ratios`]: ratios('train_images_per_sec').map(round),
    [`${name}_predict_ratios`]: ratios('predict_images_per_sec').map(round),
  });
}
console.log(JSON.stringify(summary));
JS
