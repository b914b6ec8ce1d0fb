#!/usr/bin/env bash
# Trains Sculpt's shipped default models on the Brown corpus and publishes them into models/:
#   1. the tokenizer (sentencepiece BPE, 1,024 pieces with [MASK]),
#   2. the drafter (configs/train/default_drafter.yaml: 3.5M-parameter causal Llama),
#   3. the refiner (configs/train/default_refiner.yaml: the drafter adapted to masked diffusion),
# then exports each as a Hugging Face folder with float16 weights (models/drafter, models/refiner).
# About two hours on 2 cores. Interrupted, it resumes: run it again and each stage continues
# from its last checkpoint (build/defaults/), finished stages are skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/build_cli.sh

mkdir -p build/defaults
if [ ! -f build/defaults/tokenizer.model ]; then
  ./build/sculpt tokenizer train --config configs/train/default_drafter.yaml --input data/brown-text/*.txt \
    --out build/defaults/tokenizer
fi
for model in drafter refiner; do
  if [ -f build/defaults/$model/trainer_state/state.json ]; then resume=--resume; else resume=; fi
  ./build/sculpt train --config configs/train/default_$model.yaml $resume
done
for model in drafter refiner; do
  ./build/sculpt model export build/defaults/$model --out models/$model --dtype float16
done
echo "train_defaults: models/drafter and models/refiner are ready; commit them to ship them"
