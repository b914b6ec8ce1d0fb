#!/usr/bin/env bash
# Sculpt's main job on a fresh clone: on the Brown corpus, train a tokenizer, a tiny drafter and
# a tiny refiner (short runs, a few minutes on 2 cores; run again and training resumes from the
# checkpoints), index the corpus with BM25, then run the hybrid pipeline: retrieve, draft,
# re-mask the drafter's weak spans and refine them, showing what the refiner changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
bash scripts/prepare_brown.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target sculpt

if [ ! -f build/tokenizer-1k.model ]; then
  ./build/sculpt tokenizer train --config configs/train/tiny_drafter.yaml --input data/brown-text/*.txt --out build/tokenizer-1k
fi
# Short runs for the quick start; the configs' own max_steps train the full tiny models.
for model in drafter refiner; do
  if [ -f build/tiny-$model/trainer_state/state.json ]; then resume=--resume; else resume=; fi
  ./build/sculpt train --config configs/train/tiny_$model.yaml --set train.max_steps=400 --set train.eval_every=200 \
    --set train.save_every=200 $resume
done
[ -f build/brown.bm25 ] || ./build/sculpt index build --corpus data/brown-text --out build/brown.bm25
./build/sculpt generate --config configs/pipeline/tiny_brown.yaml --prompt "The jury said that the city" --show-edits
