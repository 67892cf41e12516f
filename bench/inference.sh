#!/usr/bin/env bash
# Issue 14's comparison: the project's compiled prediction (`resnet bench --predict-only`: folded
# batch norm, fused convolutions, src/infer/) beside onnxruntime-node (bench/onnxruntime.mjs) running
# the same architecture exported from PyTorch (bench/export_onnx.py), alternating, RUNS pairs
# (default 3), the same thread count on both sides (THREADS, default 2: RESNET_NATIVE_THREADS and
# onnxruntime's intraOpNumThreads). Two workloads:
#   throughput: the course ResNet-50, 64x64, batch 32, images per second (STEPS timed batches);
#   latency:    ResNet-50 v1.5 (resnet50-imagenet / torchvision's resnet50), 224x224, batch 1,
#               median and p99 over LATENCY_STEPS runs (MLPerf's single-stream scenario).
# The native engine runs each of PRECISIONS (default "float32 bfloat16 int8"; int8 is calibrated on
# the benchmark's random batch) against onnxruntime's float32. Prints each run as a JSON line, then
# one summary line per workload with the medians and the native / onnxruntime ratios per pair
# (throughput: img/s over img/s; latency: onnxruntime's ms over native's ms, so > 1 = native faster).
# The ONNX files are made once into ONNX_DIR (default bench/.onnx): the course model with
# .venv-reference's PyTorch (PYTHON), torchvision's with a Python that has torchvision
# (TORCHVISION_PYTHON, default Debian's /usr/bin/python3).
# Usage: bench/inference.sh   (env: RUNS=3 THREADS=2 STEPS=16 LATENCY_STEPS=60 WORKLOADS="throughput latency")
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
threads=${THREADS:-2}
steps=${STEPS:-16}
latency_steps=${LATENCY_STEPS:-60}
precisions=${PRECISIONS:-"float32 bfloat16 int8"}
workloads=${WORKLOADS:-"throughput latency"}
onnx_dir=${ONNX_DIR:-bench/.onnx}
mkdir -p "$onnx_dir"
course_onnx=$onnx_dir/course-resnet50-b32.onnx
imagenet_onnx=$onnx_dir/torchvision-resnet50-b1.onnx
[ -f "$course_onnx" ] || "${PYTHON:-.venv-reference/bin/python}" bench/export_onnx.py --model course --batch 32 --out "$course_onnx" 2>/dev/null
[ -f "$imagenet_onnx" ] || "${TORCHVISION_PYTHON:-/usr/bin/python3}" bench/export_onnx.py --model torchvision --batch 1 --out "$imagenet_onnx" 2>/dev/null
export RESNET_NATIVE_THREADS=$threads
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

native() { # workload precision
  case "$1" in
    throughput) set -- --model resnet50 --input 64 --classes 6 --batch-size 32 --steps "$steps" --precision "$2" ;;
    latency) set -- --model resnet50-imagenet --input 224 --classes 1000 --batch-size 1 --steps "$latency_steps" --precision "$2" ;;
  esac
  node dist/src/cli/main.js bench --backend native --predict-only --json "$@" 2>/dev/null | grep '^{' | tail -1
}
onnxruntime() { # workload
  case "$1" in
    throughput) node bench/onnxruntime.mjs --model "$course_onnx" --batch 32 --size 64 --steps "$steps" --threads "$threads" ;;
    latency) node bench/onnxruntime.mjs --model "$imagenet_onnx" --batch 1 --size 224 --steps "$latency_steps" --threads "$threads" ;;
  esac
}

for i in $(seq 1 "$runs"); do
  for w in $workloads; do
    # Alternate which engine goes first, so that neither always runs on the warmer machine.
    if [ $((i % 2)) -eq 1 ]; then onnxruntime "$w" | tee "$out/$w.ort.$i.json"; fi
    for p in $precisions; do native "$w" "$p" | tee "$out/$w.$p.$i.json"; done
    if [ $((i % 2)) -eq 0 ]; then onnxruntime "$w" | tee "$out/$w.ort.$i.json"; fi
  done
done

node --input-type=module - "$out" "$runs" "$workloads" "$precisions" "$threads" <<'JS'
import { readFileSync } from 'node:fs';
const [dir, runs, workloads, precisions, threads] = process.argv.slice(2);
const read = (w, name) => Array.from({ length: Number(runs) }, (_, i) => JSON.parse(readFileSync(`${dir}/${w}.${name}.${i + 1}.json`, 'utf8')));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const round = (x) => Math.round(x * 1000) / 1000;
for (const w of workloads.trim().split(/\s+/)) {
  const ort = read(w, 'ort');
  const summary = {
    workload: w, runs: Number(runs), threads: Number(threads), model: w === 'throughput' ? 'resnet50 (course) 64x64 batch 32' : 'resnet50-imagenet 224x224 batch 1',
    onnxruntime_images_per_sec: median(ort.map((r) => r.predict_images_per_sec)),
    onnxruntime_ms_median: median(ort.map((r) => r.predict_batch_ms_median)), onnxruntime_ms_p99: median(ort.map((r) => r.predict_batch_ms_p99)),
  };
  for (const p of precisions.trim().split(/\s+/)) {
    const nat = read(w, p);
    const ratios = (f) => nat.map((n, i) => round(f(n, ort[i])));
    const ips = ratios((n, o) => n.predict_images_per_sec / o.predict_images_per_sec);
    const med = ratios((n, o) => o.predict_batch_ms_median / n.predict_batch_ms_median);
    const p99 = ratios((n, o) => o.predict_batch_ms_p99 / n.predict_batch_ms_p99);
    Object.assign(summary, {
      [`native_${p}_images_per_sec`]: median(nat.map((r) => r.predict_images_per_sec)),
      [`native_${p}_ms_median`]: median(nat.map((r) => r.predict_batch_ms_median)), [`native_${p}_ms_p99`]: median(nat.map((r) => r.predict_batch_ms_p99)),
      [`native_${p}_threads`]: nat[0].threads?.onednn ?? null,
      ...(w === 'throughput'
        ? { [`ratio_${p}_over_onnxruntime`]: round(median(ips)), [`ratios_${p}`]: ips }
        : { [`latency_speedup_${p}_median`]: round(median(med)), [`latency_speedup_${p}_p99`]: round(median(p99)), [`ratios_${p}_median`]: med, [`ratios_${p}_p99`]: p99 }),
    });
  }
  console.log(JSON.stringify(summary));
}
JS
