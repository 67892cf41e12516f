#!/usr/bin/env bash
# Test accuracy of named training recipes (src/train/recipes.ts), several seeds each: every run is
# `resnet train --recipe R --seed S` on the training folder with the recipe's own defaults (10% of
# each class held out for validation; the run's model is its best validation epoch), then one
# `resnet evaluate` of that model on the test folder, which is never used to choose anything.
# One JSON line per run goes to $OUT/results.jsonl and stdout.
#
# Usage: bench/recipe-accuracy.sh [RECIPE...]          (default: course strong)
# Environment: DATA (default ../shared/data/signs; uses DATA/train and DATA/test), SEEDS (default
#   "0 1 2"), MODEL (default: the CLI's, resnet50), EXTRA (more `resnet train` options, e.g.
#   "--image-size 32 --epochs 15"), OUT (default runs/recipes-<date>).
# Run it niced and alone (nice -n 10): a SIGNS run takes 2-8 minutes here, a CIFAR-10 one much longer.
# Smoke test: SEEDS=0 EXTRA="--epochs 1 --limit 24 --model tiny-resnet" bench/recipe-accuracy.sh course
set -euo pipefail

cd "$(dirname "$0")/.."
DATA="${DATA:-../shared/data/signs}"
SEEDS="${SEEDS:-0 1 2}"
OUT="${OUT:-runs/recipes-$(date -u +%Y%m%d-%H%M%S)}"
RECIPES=("$@")
[ ${#RECIPES[@]} -gt 0 ] || RECIPES=(course strong)
RESNET=(node dist/src/cli/main.js)
[ -d "$DATA/train" ] && [ -d "$DATA/test" ] || { echo "$0: expected $DATA/train and $DATA/test" >&2; exit 2; }
[ -f dist/src/cli/main.js ] || npx tsc -p .
mkdir -p "$OUT"
model_args=()
[ -n "${MODEL:-}" ] && model_args=(--model "$MODEL")

for recipe in "${RECIPES[@]}"; do
  for seed in $SEEDS; do
    dir="$OUT/$recipe-seed$seed"
    started=$(date +%s)
    # shellcheck disable=SC2086
    "${RESNET[@]}" train --data "$DATA/train" --recipe "$recipe" --seed "$seed" --out "$dir" "${model_args[@]}" ${EXTRA:-} > "$dir.train.log"
    trained=$(date +%s)
    evaluation=$("${RESNET[@]}" evaluate --model "$dir" --data "$DATA/test" --out "$dir" --json)
    node -e '
      const [recipe, seed, seconds, json, data, extra] = process.argv.slice(1);
      const e = JSON.parse(json);
      const config = JSON.parse(require("fs").readFileSync(process.argv[7] + "/config.json", "utf8"));
      const history = require("fs").readFileSync(process.argv[7] + "/history.jsonl", "utf8").trim().split("\n").map(JSON.parse);
      const best = history.reduce((b, r) => (r.val_accuracy > b.val_accuracy ? r : b), history[0]);
      console.log(JSON.stringify({ recipe, seed: Number(seed), data, model: config.model.name, input: config.data.inputShape,
        epochs: history.length, best_epoch: best.epoch, test_accuracy: e.accuracy, test_loss: e.loss, test_images: e.images,
        train_seconds: Number(seconds), engine: e.engine, extra, finished: new Date().toISOString() }));
    ' "$recipe" "$seed" "$((trained - started))" "$evaluation" "$DATA" "${EXTRA:-}" "$dir" | tee -a "$OUT/results.jsonl"
  done
done
echo "results in $OUT/results.jsonl"
