#!/usr/bin/env bash
# Throughput of `resnet train --distributed jax` against the same recipe in one process: Keras on JAX
# with 1 process (all cores), with N processes over loopback (cores / N threads each), and the
# project's own trainer (native engine), side by side, alternating, ROUNDS times. The workload:
# resnet20 on CIFAR-10 (LIMIT images of its train split, 32x32), Adam lr 1e-3, batch BATCH, EPOCHS
# epochs, no validation split, no precise BN (pure training). A run's figure is its training images
# per second over epochs 2..EPOCHS (the first epoch compiles); one JSON line per run, then the
# medians and their ratios to the one-process JAX run.
# Usage: bench/distributed.sh     (each run under `cpulock -x`; env: ROUNDS=3 PROCESSES=2 LIMIT=2560
#                                  BATCH=64 EPOCHS=3 OUT=runs/distributed-<date>)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"; PROCESSES="${PROCESSES:-2}"; LIMIT="${LIMIT:-2560}"; BATCH="${BATCH:-64}"; EPOCHS="${EPOCHS:-3}"
OUT="${OUT:-runs/distributed-$(date -u +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
COMMON=(train --data ../shared/data/cifar10/train --limit "$LIMIT" --model resnet20 --epochs "$EPOCHS" --batch-size "$BATCH" --val-split 0 --bn-recalibration 0)
rate() { node -e '
const h = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l)).slice(1);
const images = h.reduce((s, r) => s + (r.images ?? Number(process.argv[2])), 0), seconds = h.reduce((s, r) => s + (r.train_seconds ?? r.seconds), 0);
console.log((images / seconds).toFixed(1));' "$1/history.jsonl" "$LIMIT"; }
for round in $(seq 1 "$ROUNDS"); do
  for engine in jax1 "jax$PROCESSES" native; do
    run="$OUT/$engine-$round"
    case "$engine" in
      jax1) args=(--distributed jax --processes 1) ;;
      native) args=(--backend native) ;;
      *) args=(--distributed jax --processes "$PROCESSES") ;;
    esac
    cpulock -x node dist/src/cli/main.js "${COMMON[@]}" "${args[@]}" --out "$run" > "$run.log" 2>&1 || { echo "$run failed: $(tail -1 "$run.log")" >&2; exit 1; }
    echo "{\"engine\":\"$engine\",\"round\":$round,\"train_images_per_sec\":$(rate "$run"),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | tee -a "$OUT/results.jsonl"
  done
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const by = {}; for (const r of rows) (by[r.engine] ??= []).push(r.train_images_per_sec);
const base = median(by.jax1);
const out = Object.fromEntries(Object.entries(by).map(([k, v]) => [k, { median: median(v), ratio_to_jax1: +(median(v) / base).toFixed(3) }]));
console.log(JSON.stringify({ summary: out, cpus: require("os").availableParallelism(), cpu: require("os").cpus()[0].model }));
' "$OUT/results.jsonl" | tee "$OUT/summary.json"
