#!/usr/bin/env bash
# The degradation experiment of He et al. (2015), figure 6, on CIFAR-10 (../shared/data/cifar10):
# plain-20, plain-56, ResNet-20 and ResNet-56 (option-A shortcuts), all trained with one recipe and
# one budget through the ordinary `resnet train`, so that their training and validation curves
# (history.jsonl) can be drawn side by side (docs/gradients.md). The paper's recipe, shortened:
# SGD momentum 0.9, weight decay 1e-4, batch 128, learning rate 0.1 divided by 10 at 50% and 75% of
# the run, flips and shifts of up to 4 pixels (the paper: 4-pixel padded crops), 10% of the training
# split held out for the validation curves. The test split is evaluated once per network at the end.
#
# Usage: bench/degradation.sh            env: EPOCHS (default 15), OUT (default runs/degradation),
#        MODELS (default "plain20 plain56 resnet20 resnet56"), DATA (default ../shared/data/cifar10)
# Budget: one epoch of 45,000 images takes ~80 s (depth 20) and ~240 s (depth 56) on this 2-core
# machine when nothing else runs, so the default is about 2 hours 40 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${EPOCHS:-15}"
OUT="${OUT:-runs/degradation}"
DATA="${DATA:-../shared/data/cifar10}"
MODELS="${MODELS:-plain20 plain56 resnet20 resnet56}"
[ -d "$DATA/train" ] && [ -d "$DATA/test" ] || { echo "$0: no CIFAR-10 data under $DATA" >&2; exit 2; }
mkdir -p "$OUT"
for model in $MODELS; do
  run="$OUT/$model"
  if [ -f "$run/model.json" ]; then echo "$run: done already" >&2
  elif [ -d "$run/last" ]; then node dist/src/cli/main.js train --resume "$run"
  else
    rm -rf "$run"
    node dist/src/cli/main.js train --data "$DATA/train" --model "$model" --epochs "$EPOCHS" --batch-size 128 \
      --optimizer sgd --momentum 0.9 --weight-decay 1e-4 --lr 0.1 --schedule step \
      --augment shift=0.125,rotation=0,brightness=0,contrast=0,flip --val-split 0.1 --seed 0 --out "$run"
  fi
  node dist/src/cli/main.js evaluate --model "$run" --data "$DATA/test" --json > "$run/test.json"
  echo "{\"model\":\"$model\",\"test\":$(cat "$run/test.json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["accuracy"])')}" | tee -a "$OUT/results.jsonl"
done
