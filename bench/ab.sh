#!/usr/bin/env bash
# A/B timing of the native engine: the build at a given commit against the working tree, alternating
# (the machine is shared: only alternating pairs compare). Builds the commit in a temporary git
# worktree (its TypeScript and addon; node_modules linked from here), then runs
# native/tools/bench.mjs in each tree PAIRS times (the working tree as built: `npx tsc -p .` and
# `npm run build:native` first) and prints one line per pair: the step seconds and
# prediction img/s of the old build, then the new, then new/old of the step.
# Usage: bench/ab.sh <commit> [pairs=4] [bench.mjs args, e.g. --steps 8]   (env as for bench.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."
commit=${1:?usage: bench/ab.sh <commit> [pairs] [bench.mjs args]}
pairs=${2:-4}
shift $(( $# >= 2 ? 2 : 1 ))
old=$(mktemp -d)
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"; git worktree prune' EXIT
git worktree add -q --detach "$old" "$commit"
ln -s "$PWD/node_modules" "$old/node_modules"
(cd "$old" && npx tsc -p . >/dev/null && cd native && npx node-gyp rebuild >/dev/null 2>&1)
run() { (cd "$1" && node native/tools/bench.mjs "${@:2}") | node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(`${d.train_step_sec} ${d.predict_images_per_sec}`);'; }
for i in $(seq "$pairs"); do
  a=$(run "$old" "$@"); b=$(run "$PWD" "$@")
  echo "old $a new $b ratio $(node -e "console.log((${b%% *} / ${a%% *}).toFixed(3))")"
done
