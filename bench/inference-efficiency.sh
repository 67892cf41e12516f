#!/usr/bin/env bash
# The forward-only yardstick of issue 14 (bench/efficiency.sh's, for prediction): the FLOP rate of a
# compiled ResNet-50 prediction (`resnet bench --predict-only`: predict_gflops_per_sec, convolutions and
# dense layer, 2 FLOPs per multiply-add) over the rate of oneDNN's own inference 3x3 convolution in the
# same precision (native/tools/conv3x3_forward_rate.cpp: 64 -> 64 channels, 64x64, batch 32, bias and
# ReLU fused), both on THREADS threads (default 2). RUNS alternating pairs per precision; one JSON line
# per pair, then one summary line per precision.
# Usage: bench/inference-efficiency.sh   (env: RUNS=3 STEPS=16 THREADS=2 PRECISIONS="float32 bfloat16 int8"
#   MODEL=resnet50 INPUT=64 BATCH=32)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
steps=${STEPS:-16}
threads=${THREADS:-2}
precisions=${PRECISIONS:-"float32 bfloat16 int8"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -O2 -std=c++17 native/tools/conv3x3_forward_rate.cpp -ldnnl -o "$out/conv3x3_forward_rate"
for i in $(seq 1 "$runs"); do
  OMP_NUM_THREADS=$threads "$out/conv3x3_forward_rate" | tee "$out/conv.$i.json"
  for p in $precisions; do
    RESNET_NATIVE_THREADS=$threads node dist/src/cli/main.js bench --backend native --predict-only --precision "$p" \
      --model "${MODEL:-resnet50}" --input "${INPUT:-64}" --batch-size "${BATCH:-32}" --steps "$steps" --json 2>/dev/null \
      | grep '^{' | tail -1 | tee "$out/$p.$i.json"
  done
done
node --input-type=module - "$out" "$runs" "$precisions" "$threads" <<'JS'
import { readFileSync } from 'node:fs';
const [dir, runs, precisions, threads] = process.argv.slice(2);
const read = (name) => Array.from({ length: Number(runs) }, (_, i) => JSON.parse(readFileSync(`${dir}/${name}.${i + 1}.json`, 'utf8')));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const conv = read('conv');
for (const p of precisions.trim().split(/\s+/)) {
  const step = read(p);
  const ratios = step.map((s, i) => s.predict_gflops_per_sec / conv[i][`forward_${p}_gflops`]);
  console.log(JSON.stringify({
    precision: p, threads: Number(threads), runs: Number(runs), model: step[0].model, input: step[0].input, batch_size: step[0].batch_size,
    predict_gflops: median(step.map((s) => s.predict_gflops_per_sec)), predict_images_per_sec: median(step.map((s) => s.predict_images_per_sec)),
    conv3x3_forward_gflops: median(conv.map((c) => c[`forward_${p}_gflops`])),
    predict_over_conv3x3: Math.round(median(ratios) * 1000) / 1000, ratios: ratios.map((r) => Math.round(r * 1000) / 1000),
  }));
}
JS
