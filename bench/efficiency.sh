#!/usr/bin/env bash
# Issue 4's efficiency yardstick, in one run: the FLOP rate of a whole float32 ResNet-50 training
# step (`resnet bench`: train_gflops_per_sec, convolutions and dense layer, 2 FLOPs per
# multiply-add) over the rate of oneDNN's own 3x3 convolution (native/tools/conv3x3_rate.cpp:
# 64 -> 64 channels, 64x64, batch 32, its three passes), both on the same number of threads.
# For each thread count, RUNS alternating pairs; one JSON line per pair, then one summary line per
# thread count with the medians and the ratio step / convolution.
# Usage: bench/efficiency.sh   (env: RUNS=3 STEPS=8 THREAD_COUNTS="1 $(nproc)")
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
steps=${STEPS:-8}
thread_counts=${THREAD_COUNTS:-"1 $(nproc)"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

g++ -O2 -std=c++17 native/tools/conv3x3_rate.cpp -ldnnl -o "$out/conv3x3_rate"

for threads in $thread_counts; do
  for i in $(seq 1 "$runs"); do
    OMP_NUM_THREADS=$threads "$out/conv3x3_rate" | tee "$out/conv.$threads.$i.json"
    RESNET_NATIVE_THREADS=$threads node dist/src/cli/main.js bench --backend native --steps "$steps" --json \
      | grep '^{' | tail -1 | tee "$out/step.$threads.$i.json"
  done
done

node --input-type=module - "$out" "$runs" "$thread_counts" <<'JS'
import { readFileSync } from 'node:fs';
const [dir, runs, counts] = process.argv.slice(2);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
for (const threads of counts.trim().split(/\s+/)) {
  const read = (name) => Array.from({ length: Number(runs) }, (_, i) => JSON.parse(readFileSync(`${dir}/${name}.${threads}.${i + 1}.json`, 'utf8')));
  const conv = read('conv'), step = read('step');
  const ratios = step.map((s, i) => s.train_gflops_per_sec / conv[i].three_passes_gflops);
  console.log(JSON.stringify({
    threads: Number(threads), runs: Number(runs),
    step_gflops: median(step.map((s) => s.train_gflops_per_sec)),
    train_images_per_sec: median(step.map((s) => s.train_images_per_sec)),
    conv3x3_three_passes_gflops: median(conv.map((c) => c.three_passes_gflops)),
    conv3x3_forward_gflops: median(conv.map((c) => c.forward_gflops)),
    step_over_conv3x3: Math.round(median(ratios) * 1000) / 1000,
    ratios: ratios.map((r) => Math.round(r * 1000) / 1000),
  }));
}
JS
