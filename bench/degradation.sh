#!/usr/bin/env bash
# The degradation experiment of He et al. (2015), figure 6, on CIFAR-10 (../shared/data/cifar10):
# plain-20, plain-56, ResNet-20 and ResNet-56 (option-A shortcuts), all trained with one recipe and
# one budget through the ordinary `resnet train`, so that their training and validation curves
# (history.jsonl) can be drawn side by side (docs/gradients.md). The paper's recipe, shortened:
# SGD momentum 0.9, weight decay 1e-4, batch 128, learning rate 0.1 divided by 10 at 50% and 75% of
# the run, flips and 4-pixel zero-padded random crops (the paper's), 10% of the training split held
# out. The test split is evaluated after every epoch (--eval-data: recorded, never used to
# choose anything), as the paper's test-error curves are; the figure (training error dashed, test
# error solid, plain and ResNet panels) is written to $OUT/degradation.svg, and each network's kernel
# norms before and after training to $OUT/<model>/kernel-norms.jsonl (bench/kernel-norms.mjs).
#
# Usage: bench/degradation.sh            env: EPOCHS (default 15), LIMIT (images of the training
#        folder, balanced over classes; default all 50,000), SEED (default 0: the split, the shuffles and
#        the augmentation; the initial weights are fixed), OUT (default runs/degradation),
#        MODELS (default "plain20 plain56 resnet20 resnet56"), DATA (default ../shared/data/cifar10)
# Budget: the default (15 epochs of 45,000 images: 5,280 steps of 128) took 1 h 52 min here as two
# runs side by side, one thread each (an epoch of 45,000 images plus evaluation: ~110 s at depth 20,
# ~315 s at depth 56; session 10, docs/gradients.md), then one more call to draw all four:
#   RESNET_NATIVE_THREADS=1 MODELS="plain56 plain20" bench/degradation.sh &
#   RESNET_NATIVE_THREADS=1 MODELS="resnet56 resnet20" bench/degradation.sh; wait; bench/degradation.sh
# One network at a time on both cores takes longer (~2 h 45 min). The time scales with EPOCHS x LIMIT.
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
    node dist/src/cli/main.js train --data "$DATA/train" --eval-data "$DATA/test" ${LIMIT:+--limit "$LIMIT"} \
      --model "$model" --epochs "$EPOCHS" --batch-size 128 \
      --recipe course --optimizer sgd --momentum 0.9 --weight-decay 1e-4 --lr 0.1 --schedule step \
      --augment crop=4,flip,shift=0,rotation=0,brightness=0,contrast=0 --val-split 0.1 --seed "${SEED:-0}" --out "$run"
  fi
  # A network already evaluated (test.json) is not evaluated again: a second call only draws the figure.
  [ -s "$run/test.json" ] && continue
  node dist/src/cli/main.js evaluate --model "$run" --data "$DATA/test" --json > "$run/test.json"
  echo "{\"model\":\"$model\",\"test\":$(cat "$run/test.json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["accuracy"])')}" | tee -a "$OUT/results.jsonl"
done
node --input-type=module - "$OUT" $MODELS <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
import { degradationSvg } from './dist/src/plot/degradation.js';
const [out, ...models] = process.argv.slice(2);
const runs = models.map((model) => ({
  name: model.replace(/^plain/, 'plain-').replace(/^resnet/, 'ResNet-'), residual: model.startsWith('resnet'), depth: Number(model.replace(/\D/g, '')),
  history: readFileSync(`${out}/${model}/history.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l)),
}));
writeFileSync(`${out}/degradation.svg`, await degradationSvg(runs));
for (const r of runs) {
  const last = r.history.at(-1);
  console.log(JSON.stringify({ network: r.name, epochs: r.history.length, train_error: +(1 - last.accuracy).toFixed(4), test_error: last.test_accuracy == null ? null : +(1 - last.test_accuracy).toFixed(4), seconds: Math.round(r.history.reduce((s, h) => s + h.seconds, 0)) }));
}
console.log(`figure: ${out}/degradation.svg`);
JS
# How far training moved each network's kernels (batch norm makes a grown kernel's steps small).
for model in $MODELS; do
  node bench/kernel-norms.mjs "$OUT/$model" "$model" > "$OUT/$model/kernel-norms.jsonl"
  node -e 'const r = require("fs").readFileSync(0, "utf8").trim().split("\n").map(JSON.parse);
    console.log(JSON.stringify({ network: r[0].network, first_kernel_growth: r[0].growth, largest_growth: Math.max(...r.map((k) => k.growth)), last_kernel_growth: r.at(-1).growth }));' < "$OUT/$model/kernel-norms.jsonl"
done
