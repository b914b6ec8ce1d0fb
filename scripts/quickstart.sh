#!/usr/bin/env bash
# Sculpt's main job on a fresh clone, until the hybrid pipeline lands: on the Brown corpus, train
# a tokenizer and a tiny drafter (a few minutes on 2 cores), then draft a continuation with it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
bash scripts/prepare_brown.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target sculpt

config=configs/train/tiny_drafter.yaml
if [ ! -f build/tokenizer-1k.model ]; then
  ./build/sculpt tokenizer train --config "$config" --input data/brown-text/*.txt --out build/tokenizer-1k
fi
# A short run for the quick start; the config's own max_steps trains the full tiny drafter.
if [ -f build/tiny-drafter/trainer_state/state.json ]; then resume=--resume; else resume=; fi
./build/sculpt train --config "$config" --set train.max_steps=400 --set train.eval_every=200 --set train.save_every=200 $resume
./build/sculpt model info build/tiny-drafter
./build/sculpt draft --model build/tiny-drafter --prompt "The jury said that the city" --max-tokens 60 --temperature 0.7 --seed 1
