#!/usr/bin/env bash
# Does pretraining help? A ResNet-20 pretrained on CIFAR-10 (PRE, a model folder; bench/finetune-signs.sh
# pretrain makes one) is fine-tuned on a few SIGNS photos per class, against the same model trained
# from scratch on the same photos with the same recipe and budget; every run is evaluated once on
# the 120 photos of signs/test (never used to choose anything). Methods, all with one recipe
# (Adam lr 1e-3 then cosine, label smoothing 0.1, the project's default augmentation, batch 16,
# EPOCHS epochs, no validation split: the last epoch's model is evaluated):
#   scratch    resnet20, fresh weights (seed = the run's seed)
#   head       --init PRE --freeze backbone            (only the new head trains; a linear probe)
#   two-phase  --init PRE --freeze backbone --unfreeze-after EPOCHS/2   (then everything but batch
#              norm at lr 1e-4, the default lr / 10)
#   full       --init PRE                               (everything trains from the start)
# For each K in SHOTS and seed in SEEDS, K photos per class are drawn at random (by the seed) from
# signs/train and linked into $OUT/data/k{K}-s{seed}/. One JSON line per run in $OUT/results.jsonl.
#
# Usage: bench/finetune-signs.sh pretrain    (PRE from CIFAR-10's train split: CIFAR_LIMIT images,
#                                              PRE_EPOCHS epochs; long: run it with cpulock -b)
#        bench/finetune-signs.sh [compare]   (the comparison; PRE must exist)
# Environment: PRE (default runs/cifar-pre), SHOTS (default "10 20"), SEEDS (default "0 1 2"),
#   EPOCHS (default 30), SIZE (image side for every run, default 32 = PRE's input), METHODS,
#   OUT (default runs/finetune-<date>), CIFAR_LIMIT (default 10000), PRE_EPOCHS (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-compare}"
PRE="${PRE:-runs/cifar-pre}"
SHOTS="${SHOTS:-10 20}"
SEEDS="${SEEDS:-0 1 2}"
EPOCHS="${EPOCHS:-30}"
SIZE="${SIZE:-32}"
METHODS="${METHODS:-scratch head two-phase full}"
SIGNS=../shared/data/signs
RESNET=(node dist/src/cli/main.js)
[ -f dist/src/cli/main.js ] || npx tsc -p .

if [ "$MODE" = pretrain ]; then
  # CIFAR-10 at 32x32: augmentation fit for it (shifts of 4 pixels, flips), AdamW + cosine.
  "${RESNET[@]}" train --data ../shared/data/cifar10/train --limit "${CIFAR_LIMIT:-10000}" --model resnet20 \
    --epochs "${PRE_EPOCHS:-8}" --batch-size 128 --optimizer adamw --lr 2e-3 --weight-decay 0.05 --schedule cosine \
    --warmup-epochs 1 --label-smoothing 0.1 --augment shift=0.125,rotation=0,brightness=0,contrast=0,flip \
    --val-split 0.05 --out "$PRE"
  "${RESNET[@]}" evaluate --model "$PRE" --data ../shared/data/cifar10/test --json | head -c 200; echo
  exit 0
fi
[ "$MODE" = compare ] || { echo "usage: $0 [pretrain|compare]" >&2; exit 2; }
[ -f "$PRE/model.json" ] || { echo "$0: no pretrained model in $PRE (run: $0 pretrain)" >&2; exit 2; }
OUT="${OUT:-runs/finetune-$(date -u +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT/runs"
HALF=$((EPOCHS / 2))
RECIPE=(--epochs "$EPOCHS" --batch-size 16 --lr 1e-3 --schedule cosine --label-smoothing 0.1 --augment --val-split 0 --image-size "$SIZE")

for k in $SHOTS; do
  for seed in $SEEDS; do
    data="$OUT/data/k$k-s$seed"
    if [ ! -d "$data" ]; then
      for class in "$SIGNS"/train/*/; do
        name=$(basename "$class")
        mkdir -p "$data/$name"
        ls "$class" | python3 -c "import random, sys; f = sorted(sys.stdin.read().split()); random.Random($seed).shuffle(f); print('\n'.join(f[:$k]))" |
          while read -r file; do ln -s "$(realpath "$class/$file")" "$data/$name/$file"; done
      done
    fi
    for method in $METHODS; do
      run="$OUT/runs/k$k-s$seed-$method"
      case "$method" in
        scratch) extra=(--model resnet20) ;;
        head) extra=(--init "$PRE" --freeze backbone) ;;
        two-phase) extra=(--init "$PRE" --freeze backbone --unfreeze-after "$HALF") ;;
        full) extra=(--init "$PRE") ;;
        *) echo "$0: unknown method $method" >&2; exit 2 ;;
      esac
      start=$(date +%s)
      "${RESNET[@]}" train --data "$data" "${RECIPE[@]}" --seed "$seed" "${extra[@]}" --out "$run" > "$run.log" 2>&1 ||
        { echo "$0: $run failed: $(tail -1 "$run.log")" >&2; exit 1; }
      seconds=$(( $(date +%s) - start ))
      result=$("${RESNET[@]}" evaluate --model "$run/last" --data "$SIGNS/test" --json --out "$run")
      acc=$(node -e 'const r = JSON.parse(process.argv[1]); console.log(r.accuracy)' "$result")
      line="{\"shots\":$k,\"seed\":$seed,\"method\":\"$method\",\"test_accuracy\":$acc,\"epochs\":$EPOCHS,\"size\":$SIZE,\"seconds\":$seconds,\"pre\":\"$PRE\"}"
      echo "$line" | tee -a "$OUT/results.jsonl"
    done
  done
done
# Summary: mean, min and max test accuracy per (shots, method).
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const groups = new Map();
for (const r of rows) { const key = `${r.shots} per class, ${r.method}`; (groups.get(key) ?? groups.set(key, []).get(key)).push(r.test_accuracy); }
for (const [key, a] of groups) console.log(JSON.stringify({ group: key, runs: a.length, mean: +(a.reduce((s, v) => s + v, 0) / a.length).toFixed(4), min: Math.min(...a), max: Math.max(...a) }));
' "$OUT/results.jsonl" | tee "$OUT/summary.jsonl"
