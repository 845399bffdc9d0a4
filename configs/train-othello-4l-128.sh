#!/bin/sh
# Retrains the shipped default model models/othello-4l-128 exactly as it was made (about 3 hours on 2 cores):
# stage 1 is the spec model.md §4 recipe (configs/train-othello-4l-128.yaml: 12M tokens, peak lr 1e-3); stages 2
# and 3 continue from the stage before on fresh games, each with its own cosine schedule, because stage 1 alone
# stops far short of the 95 % top-1 legality target on this budget.
set -e
out=${1:-runs/othello-4l-128}
saec() { node dist/pipeline/cli.js "$@"; }
saec games generate --out "$out/games-s42" --count 300000 --seed 42
saec model train --games "$out/games-s42" --out "$out/stage1" --preset othello-4l-128 --seed 42
saec games generate --out "$out/games-s43" --count 300000 --seed 43
saec model train --games "$out/games-s43" --out "$out/stage2" --preset othello-4l-128 --seed 43 \
  --init-from "$out/stage1/model" --set trainTokens=7000000 --set peakLr=6e-4 --set warmupSteps=50
saec games generate --out "$out/games-s44" --count 300000 --seed 44
saec model train --games "$out/games-s44" --out "$out/stage3" --preset othello-4l-128 --seed 44 \
  --init-from "$out/stage2/model" --set trainTokens=16000000 --set peakLr=6e-4 --set warmupSteps=50
saec model init --preset othello-4l-128 --seed 42 --out "$out/random-init"
echo "trained: $out/stage3/model   random init: $out/random-init"
