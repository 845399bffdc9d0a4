#!/bin/sh
# Retrains the shipped default model models/othello-4l-128 as it was made (51M tokens; 2 h 20 min to 2 h 40 min on 2
# cores at the current training speed, 5,300-6,100 tokens/s): stage 1 is the spec model.md §4 recipe
# (configs/train-othello-4l-128.yaml: 12M tokens, peak lr 1e-3); stages 2-4 continue from the stage before on fresh
# games, each with its own cosine schedule, because stage 1 alone stops far short of the 95 % top-1 legality target.
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
saec games generate --out "$out/games-s45" --count 300000 --seed 45
saec model train --games "$out/games-s45" --out "$out/stage4" --preset othello-4l-128 --seed 45 \
  --init-from "$out/stage3/model" --set trainTokens=16000000 --set peakLr=6e-4 --set warmupSteps=50
saec model eval "$out/stage4/model" --games "$out/games-s42" --split test --count 3000
saec model init --preset othello-4l-128 --seed 42 --out "$out/random-init"
echo "trained: $out/stage4/model   random init: $out/random-init"
