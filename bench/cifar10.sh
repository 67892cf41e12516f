#!/usr/bin/env bash
# CIFAR-10 time to accuracy, the project against PyTorch (issue 15). Trains a ResNet on the CIFAR-10
# training folder with a named recipe through the ordinary `resnet train`, evaluating the test
# folder after every epoch (--eval-data: recorded, never used to choose anything), and runs the same
# recipe in PyTorch (bench/cifar10_torch.py: the same layers, files, decoding, augmentation,
# optimiser, schedule and threads). Each side's time to the target test accuracy runs from its
# process start (data decoding and preparation included) to the end of the first epoch whose
# evaluation reaches the target. Prints one JSON line per run and a summary line with the ratio
# torch / project (> 1: the project is faster).
#
# Recipes:
#   paper  ResNet-20 as in He et al. (2015) section 4.2: SGD momentum 0.9, weight decay 1e-4, batch
#          128, learning rate 0.1 divided by 10 at 50% and 75% of the run, 4-pixel zero-padded random
#          crops and flips; shortened to EPOCHS=30 (about an hour here). Target 0.90.
#   fast   resnet-airbench (src/models/fast.ts: airbench94's network with explicit residual units):
#          whitening stem, batch 1024, Nesterov SGD (lr 1.5, momentum 0.85, L2 1.33e-3, biases and
#          batch-norm shifts at 64x the learning rate), one-cycle
#          linear schedule peaking at 23% of the run, label smoothing 0.2, 2-pixel crops and flips,
#          lookahead averaging, bfloat16 convolutions, 10 epochs; each group's first convolution
#          starts as an identity on its first filters (airbench's dirac start); the test set is
#          evaluated once, after the last epoch (EVAL_EVERY=N: every N epochs), with airbench's
#          level-2 TTA (flip-translate: the image, two one-pixel diagonal shifts, and their mirrors).
#          Target 0.94.
#
# Usage: bench/cifar10.sh paper|fast [both|ours|torch]
# Environment: TARGET (test accuracy), EPOCHS (override the recipe's), PAIRS (default 1; pairs
#   alternate which side runs first; FIRST=torch: PyTorch first in the first pair), OUT (default
#   runs/cifar10-<recipe>-<date>), CACHED=1 (the project reads the decoded photos from its usual
#   cache, as a second run would; by default each of its runs decodes cold into a fresh cache
#   folder, deleted afterwards, as PyTorch decodes every time), DATA (default
#   ../shared/data/cifar10), LIMIT (smoke tests: this many training images, a fifth as many test
#   images on the PyTorch side, and --limit on the project's), LOCK (default `cpulock -x` when
#   cpulock exists: each run alone on the machine; LOCK= for none), STOP_AT_TARGET=1 (PyTorch stops
#   at the target instead of finishing the budget), PYTHON (default .venv-reference/bin/python:
#   torch 2.13 CPU, no torchvision needed), EXTRA (more flags for both sides, after the recipe's:
#   ablations, e.g. EXTRA="--bias-lr-scale 1" or EXTRA="--tta flip"), EVAL_EVERY (fast recipe: evaluate
#   the test set every N epochs; default once, at the end).
# Smoke test: LIMIT=500 EPOCHS=1 LOCK= bench/cifar10.sh fast
set -euo pipefail
cd "$(dirname "$0")/.."
recipe=${1:?usage: bench/cifar10.sh paper|fast [both|ours|torch]}
sides=${2:-both}
DATA=${DATA:-../shared/data/cifar10}
PYTHON=${PYTHON:-.venv-reference/bin/python}
PAIRS=${PAIRS:-1}
OUT=${OUT:-runs/cifar10-$recipe-$(date -u +%Y%m%d-%H%M%S)}
if [ -z "${LOCK+set}" ]; then LOCK=$(command -v cpulock >/dev/null && echo "cpulock -x" || echo ""); fi
threads=$(nproc)
# FIRST=torch: PyTorch runs first in odd pairs (a second session's pair balances the first's order).
case "${FIRST:-ours}" in ours) FIRST_OFFSET=0 ;; torch) FIRST_OFFSET=1 ;; *) echo "bench/cifar10.sh: FIRST is ours or torch" >&2; exit 2 ;; esac

case "$recipe" in
  paper)
    target=${TARGET:-0.90}
    args=(--model resnet20 --epochs "${EPOCHS:-30}" --batch-size 128 --optimizer sgd --momentum 0.9 --weight-decay 1e-4
      --lr 0.1 --schedule step --augment crop=4,flip,shift=0,rotation=0,brightness=0,contrast=0 --precision float32) ;;
  fast)
    target=${TARGET:-0.94}
    args=(--model resnet-airbench --epochs "${EPOCHS:-10}" --batch-size 1024 --optimizer nesterov --lr 1.5 --momentum 0.85
      --weight-decay 0.00133 --bias-lr-scale 64 --schedule linear --warmup-epochs "$(node -e "console.log(0.23 * ${EPOCHS:-10})")" --label-smoothing 0.2
      --augment crop=2,flip,shift=0,rotation=0,brightness=0,contrast=0 --lookahead --tta flip-translate --precision bfloat16
      --eval-every "${EVAL_EVERY:-${EPOCHS:-10}}") ;;
  *) echo "usage: bench/cifar10.sh paper|fast [both|ours|torch]" >&2; exit 2 ;;
esac
case "$sides" in both|ours|torch) ;; *) echo "bench/cifar10.sh: the second argument is both, ours or torch" >&2; exit 2 ;; esac
# EXTRA: more flags for both sides, after the recipe's (ablations: EXTRA="--bias-lr-scale 1").
read -r -a extra_args <<< "${EXTRA:-}"
args+=("${extra_args[@]}")
# Both sides: the whole training folder (no validation split), Keras's moving BN statistics as they are.
args+=(--val-split 0 --bn-recalibration 0 --seed 0 --data "$DATA/train" --eval-data "$DATA/test")
[ -d "$DATA/train" ] && [ -d "$DATA/test" ] || { echo "bench/cifar10.sh: no CIFAR-10 under $DATA (train/ and test/)" >&2; exit 2; }
[ -f dist/src/cli/main.js ] || npx tsc -p .
if [ "$sides" != ours ] && ! "$PYTHON" -c 'import torch, PIL' 2>/dev/null; then
  echo "bench/cifar10.sh: $PYTHON lacks torch or Pillow (ln -s /work/main/.venv-reference, or set PYTHON)" >&2; exit 2
fi
mkdir -p "$OUT"
# CPU seconds of each run (GNU time, where installed): (user + sys) / wall / cores near 1 means the
# run had the machine to itself; well below, something else took cores from it.
timed() { [ -x /usr/bin/time ] && timing=(/usr/bin/time -f '{"wall_s":%e,"user_s":%U,"sys_s":%S}' -o "$1") || timing=(); }

# summarize SIDE DIR: one JSON line from DIR/history.jsonl: time to target, accuracies, where the time went.
summarize() {
  node -e '
    const [side, dir, target] = [process.argv[1], process.argv[2], Number(process.argv[3])];
    const h = require("fs").readFileSync(dir + "/history.jsonl", "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const hit = h.find((r) => r.test_accuracy >= target);
    let cpu = null;
    try { cpu = JSON.parse(require("fs").readFileSync(dir + ".time", "utf8").trim().split("\n").pop()); } catch {}
    const last = h[h.length - 1];
    const sum = (k) => h.reduce((s, r) => s + r[k], 0);
    const round = (x, d = 1) => x === undefined || x === null ? null : Number(x.toFixed(d));
    // Lower levels too, so that a ratio exists where one side ends just short of the target.
    const levels = [0.8, 0.85, 0.88, 0.9, 0.92, 0.93, 0.94].filter((a) => a <= target);
    const times_to = Object.fromEntries(levels.map((a) => [a, round(h.find((r) => r.test_accuracy >= a)?.elapsed)]));
    console.log(JSON.stringify({ side, dir, target, time_to_target_s: round(hit?.elapsed), epoch_at_target: hit?.epoch ?? null, times_to,
      epochs: h.length, final_test_accuracy: round(last.test_accuracy, 4), best_test_accuracy: round(Math.max(...h.filter((r) => r.test_accuracy !== undefined).map((r) => r.test_accuracy)), 4),
      total_s: round(last.elapsed), before_first_epoch_s: round(h[0].elapsed - h[0].seconds), train_s: round(sum("seconds") - sum("eval_seconds")),
      eval_s: round(sum("eval_seconds")), epoch_s_median: round(h.map((r) => r.seconds - r.eval_seconds).sort((a, b) => a - b)[h.length >> 1]),
      cpu_share: cpu ? round((cpu.user_s + cpu.sys_s) / cpu.wall_s / Number(process.argv[4]), 3) : null }));
  ' "$1" "$2" "$target" "$threads"
}

run_ours() {
  local dir=$1
  rm -rf "$dir"
  limit=()
  [ -n "${LIMIT:-}" ] && limit=(--limit "$LIMIT")
  timed "$dir.time"
  # --recipe course: every other default neutral (no clipping, smoothing, warm-up or augmentation
  # beyond the flags), as cifar10_torch.py has it; the recipe's flags then set the rest.
  cache=()
  [ -n "${CACHED:-}" ] || { rm -rf "$dir.cache"; cache=(--cache-dir "$dir.cache"); }
  RESNET_NATIVE_THREADS=$threads $LOCK "${timing[@]}" node dist/src/cli/main.js train --backend native --recipe course "${args[@]}" "${limit[@]}" "${cache[@]}" --out "$dir" > "$dir.log" 2>&1 \
    || { echo "bench/cifar10.sh: resnet train failed (see $dir.log)" >&2; tail -3 "$dir.log" >&2; rm -rf "$dir.cache"; exit 1; }
  rm -rf "$dir.cache"
}

run_torch() {
  local dir=$1
  rm -rf "$dir"
  extra=()
  [ -n "${LIMIT:-}" ] && extra+=(--limit "$LIMIT")
  [ -n "${STOP_AT_TARGET:-}" ] && extra+=(--stop-at "$target")
  # BENCH_T0 is read when the run starts (after waiting for the lock), just before Python starts.
  timed "$dir.time"
  $LOCK "${timing[@]}" bash -c 'BENCH_T0=$(date +%s.%N) exec "$@"' _ "$PYTHON" bench/cifar10_torch.py "${args[@]}" \
    --threads "$threads" "${extra[@]}" --out "$dir" > "$dir.log" 2>&1 \
    || { echo "bench/cifar10.sh: cifar10_torch.py failed (see $dir.log)" >&2; tail -3 "$dir.log" >&2; exit 1; }
}

echo "{\"recipe\":\"$recipe\",\"target\":$target,\"started\":\"$(date -u +%FT%TZ)\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"nproc\":$threads,\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"commit\":\"$(git rev-parse --short HEAD)\"}" | tee "$OUT/runs.jsonl"
for pair in $(seq "$PAIRS"); do
  order="ours torch"
  [ $(((pair + ${FIRST_OFFSET}) % 2)) = 0 ] && order="torch ours"
  for side in $order; do
    [ "$sides" = both ] || [ "$sides" = "$side" ] || continue
    dir="$OUT/$side-$pair"
    "run_$side" "$dir"
    summarize "$side" "$dir" | tee -a "$OUT/runs.jsonl"
  done
done
# Medians over pairs and the ratio torch / ours of the times to target.
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const head = lines[0];
  const median = (xs) => { const s = xs.filter((x) => x !== null).sort((a, b) => a - b); return s.length ? s[s.length >> 1] : null; };
  const of = (side, key) => median(lines.filter((l) => l.side === side).map((l) => l[key]));
  const out = { recipe: head.recipe, target: head.target, pairs: Number(process.argv[2]), finished: new Date().toISOString(), load_at_start: head.load };
  for (const side of ["ours", "torch"]) for (const key of ["time_to_target_s", "epoch_at_target", "final_test_accuracy", "total_s", "before_first_epoch_s", "train_s", "eval_s", "epoch_s_median", "cpu_share"]) out[`${side}_${key}`] = of(side, key);
  out.ratio_time_to_target = out.ours_time_to_target_s && out.torch_time_to_target_s ? Number((out.torch_time_to_target_s / out.ours_time_to_target_s).toFixed(3)) : null;
  const levels = Object.keys(lines.find((l) => l.times_to)?.times_to ?? {});
  const at = (side, a) => median(lines.filter((l) => l.side === side).map((l) => l.times_to[a]));
  out.ratios_at = Object.fromEntries(levels.map((a) => [a, at("ours", a) && at("torch", a) ? Number((at("torch", a) / at("ours", a)).toFixed(3)) : null]));
  out.ratio_total_time = out.ours_total_s && out.torch_total_s ? Number((out.torch_total_s / out.ours_total_s).toFixed(3)) : null;
  out.ratio_epoch_time = out.ours_epoch_s_median && out.torch_epoch_s_median ? Number((out.torch_epoch_s_median / out.ours_epoch_s_median).toFixed(3)) : null;
  console.log(JSON.stringify(out));
' "$OUT/runs.jsonl" "$PAIRS" | tee -a "$OUT/runs.jsonl"
