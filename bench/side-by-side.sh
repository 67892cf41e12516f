#!/usr/bin/env bash
# The native engine beside the PyTorch reference, in one run, RUNS times (default 3), alternating,
# because the machine is shared and absolute figures move by +-30% (shared spec benchmark.md).
# Prints each pair as JSON lines, then one JSON summary line with the medians and ratios
# (native / torch). Usage: bench/side-by-side.sh   (env: RUNS=3 STEPS=8 PYTHON=/usr/bin/python3;
# THREADS=N runs both engines on N threads: RESNET_NATIVE_THREADS and torch --threads; default all;
# PRECISION=bfloat16 runs both in mixed precision: native --precision, torch.autocast; default float32;
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

for i in $(seq 1 "$runs"); do
  native_bench 2>/dev/null | grep '^{' | tail -1 | tee "$out/native.$i.json"
  "$python" bench/reference_torch.py --steps "$steps" --threads "$threads" --precision "$precision" \
    --memory-format "$memory_format" --model "$torch_model" | grep '^{' | tail -1 | tee "$out/torch.$i.json"
done

node --input-type=module - "$out" "$runs" <<'JS'
import { readFileSync } from 'node:fs';
const [dir, runs] = process.argv.slice(2);
const read = (name) => Array.from({ length: Number(runs) }, (_, i) => JSON.parse(readFileSync(`${dir}/${name}.${i + 1}.json`, 'utf8')));
const native = read('native'), torch = read('torch');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const round = (x) => Math.round(x * 1000) / 1000;
const ratios = (key) => native.map((n, i) => n[key] / torch[i][key]);
console.log(JSON.stringify({
  runs: Number(runs), threads: Number(process.env.RESNET_NATIVE_THREADS), precision: native[0].precision ?? 'float32',
  torch_memory_format: torch[0].memory_format, torch_model: torch[0].model,
  native_train_images_per_sec: median(native.map((r) => r.train_images_per_sec)),
  torch_train_images_per_sec: median(torch.map((r) => r.train_images_per_sec)),
  native_predict_images_per_sec: median(native.map((r) => r.predict_images_per_sec)),
  torch_predict_images_per_sec: median(torch.map((r) => r.predict_images_per_sec)),
  train_ratio_native_over_torch: round(median(ratios('train_images_per_sec'))),
  predict_ratio_native_over_torch: round(median(ratios('predict_images_per_sec'))),
  train_ratios: ratios('train_images_per_sec').map(round),
  predict_ratios: ratios('predict_images_per_sec').map(round),
}));
JS
